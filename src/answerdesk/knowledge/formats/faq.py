"""CSV and JSON FAQ files: each question/answer pair becomes its own unit."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from typing import Any

from answerdesk.knowledge.cleaning import clean_inline, clean_text, decode_text
from answerdesk.knowledge.document import FaqPair
from answerdesk.knowledge.extract_errors import MalformedFaq
from answerdesk.knowledge.question_vectors import MAX_PER_QUESTION, clean_phrasings

QUESTION_KEYS = ("question", "q", "title", "questions")
ANSWER_KEYS = ("answer", "a", "response", "answers", "reply")
TAG_KEYS = ("tags", "tag", "keywords", "labels")
PHRASING_KEYS = (
    "phrasings",
    "phrasing",
    "otherquestions",
    "alternativequestions",
    "alternatives",
    "variants",
    "paraphrases",
    "examples",
)

_TAG_SPLIT = re.compile(r"[,;|]")


def _norm_key(name: str) -> str:
    return clean_inline(name).casefold().replace(" ", "").replace("_", "")


def _find_key(names: Iterable[str], accepted: tuple[str, ...]) -> str | None:
    by_norm: dict[str, str] = {}
    for name in names:
        by_norm.setdefault(_norm_key(name), name)
    return next((by_norm[key] for key in accepted if key in by_norm), None)


def _split_tags(value: str) -> tuple[str, ...]:
    tags = (clean_inline(tag) for tag in _TAG_SPLIT.split(value))
    return tuple(dict.fromkeys(tag for tag in tags if tag))


def _split_phrasings(value: str) -> tuple[str, ...]:
    """A cell of other wordings: one per line, or separated by "|" (questions may contain commas)."""
    return _phrasings(re.split(r"[|\n]", value))


def _phrasings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(clean_phrasings(clean_inline(v) for v in values))[:MAX_PER_QUESTION]


def parse_faq_csv(data: bytes) -> tuple[FaqPair, ...]:
    """Rows are numbered like a spreadsheet: the header is row 1, the first pair row 2."""
    text = decode_text(data)
    header_line = text.lstrip("\n").split("\n", 1)[0]
    delimiter = max(",;\t", key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    row_number = 0
    try:
        header: list[str] | None = None
        for row in reader:
            row_number += 1
            if any(cell.strip() for cell in row):
                header = row
                break
        if header is None:
            return ()
        q_col, a_col, tag_col = _csv_columns(header)
        phrasing_col = _find_key(header, PHRASING_KEYS)
        pairs: list[FaqPair] = []
        for row in reader:
            row_number += 1
            if not any(cell.strip() for cell in row):
                continue
            cells = {name: row[i] if i < len(row) else "" for i, name in enumerate(header)}
            question = clean_inline(cells[q_col])
            answer = clean_text(cells[a_col])
            for value, key in ((question, "question"), (answer, "answer")):
                if not value:
                    raise MalformedFaq(
                        f"Row {row_number}: the {key} is empty",
                        details={"row": row_number, "missing": key},
                    )
            tags = _split_tags(cells[tag_col]) if tag_col is not None else ()
            phrasings = _split_phrasings(cells[phrasing_col]) if phrasing_col is not None else ()
            pairs.append(FaqPair(question=question, answer=answer, tags=tags, phrasings=phrasings))
    except csv.Error as exc:
        raise MalformedFaq(
            f"Row {row_number}: the CSV cannot be parsed ({exc})", details={"row": row_number}
        ) from exc
    return tuple(pairs)


def _csv_columns(header: list[str]) -> tuple[str, str, str | None]:
    return (
        _require_column(header, "question", QUESTION_KEYS),
        _require_column(header, "answer", ANSWER_KEYS),
        _find_key(header, TAG_KEYS),
    )


def _require_column(header: list[str], role: str, keys: tuple[str, ...]) -> str:
    found = _find_key(header, keys)
    if found is None:
        columns = ", ".join(clean_inline(name) for name in header if name.strip()) or "none"
        raise MalformedFaq(
            f"The FAQ CSV has no {role} column (expected one of: {', '.join(keys)}); "
            f"found columns: {columns}",
            details={"row": 1, "missing": role, "columns": header},
        )
    return found


def parse_faq_json(data: bytes) -> tuple[FaqPair, ...]:
    """A list of {"question", "answer", "tags"?} objects, or {"faqs": [...]}; items count from 1."""
    try:
        root: Any = json.loads(decode_text(data))
    except json.JSONDecodeError as exc:
        raise MalformedFaq(
            f"The FAQ file is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            details={"line": exc.lineno, "column": exc.colno},
        ) from exc
    items = root.get(_find_key(root, ("faqs",)) or "faqs") if isinstance(root, dict) else root
    if not isinstance(items, list):
        raise MalformedFaq(
            'The FAQ JSON must be a list of {"question": ..., "answer": ...} objects '
            'or an object with a "faqs" list'
        )
    return tuple(_json_pair(number, item) for number, item in enumerate(items, start=1))


def _json_pair(number: int, item: Any) -> FaqPair:
    if not isinstance(item, dict):
        raise MalformedFaq(
            f'Item {number} is {_json_type(item)}, expected an object with "question" and "answer"',
            details={"item": number},
        )
    values: dict[str, str] = {}
    for role, keys in (("question", QUESTION_KEYS), ("answer", ANSWER_KEYS)):
        key = _find_key(item, keys)
        if key is None:
            raise MalformedFaq(
                f'Item {number} has no "{role}" key', details={"item": number, "missing": role}
            )
        value = item[key]
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise MalformedFaq(
                f'Item {number}: "{key}" is {_json_type(value)}, expected text',
                details={"item": number, "key": key},
            )
        text = clean_inline(str(value)) if role == "question" else clean_text(str(value))
        if not text:
            raise MalformedFaq(f'Item {number}: "{key}" is empty', details={"item": number, "missing": role})
        values[role] = text
    return FaqPair(
        question=values["question"],
        answer=values["answer"],
        tags=_json_tags(number, item),
        phrasings=_json_phrasings(number, item),
    )


def _json_phrasings(number: int, item: dict[str, Any]) -> tuple[str, ...]:
    key = _find_key(item, PHRASING_KEYS)
    if key is None or item[key] is None:
        return ()
    value = item[key]
    if isinstance(value, str):
        return _split_phrasings(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return _phrasings(value)
    raise MalformedFaq(
        f'Item {number}: "{key}" must be a list of questions or one question per line',
        details={"item": number, "key": key},
    )


def _json_tags(number: int, item: dict[str, Any]) -> tuple[str, ...]:
    key = _find_key(item, TAG_KEYS)
    if key is None or item[key] is None:
        return ()
    value = item[key]
    if isinstance(value, str):
        return _split_tags(value)
    if isinstance(value, list) and all(isinstance(tag, str) for tag in value):
        return _split_tags(",".join(value))
    raise MalformedFaq(
        f'Item {number}: "{key}" must be a list of strings or a comma-separated string',
        details={"item": number, "key": key},
    )


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
