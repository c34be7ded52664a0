"""Finds the [n] markers in an answer, keeps those that name a passage and tidies away the rest."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from answerdesk.answers.passages import Citation, Passage, cite

# [1]  [1, 3]  [1][2]  [1-3] (any dash)  [1 and 2]  [^1]; not a Markdown link such as [1](https://…).
_DASH = "-\u2013\u2014"
_BODY = rf"\d{{1,3}}(?:\s*(?:[,;&]|[{_DASH}]|and)\s*\^?\d{{1,3}})*"
# A run of adjacent markers is one match, so removing some of them tidies the spacing once.
_MARKER = re.compile(rf"(?P<pre>[ \t]*)(?P<run>(?:\[\^?\s*{_BODY}\s*\](?!\())+)(?P<post>[ \t]*)")
_GROUP = re.compile(rf"\[\^?\s*(?P<body>{_BODY})\s*\]")
_PART = re.compile(rf"(\d+)(?:\s*[{_DASH}]\s*(\d+))?")
_CLOSERS = "\n.,;:!?)]}'\"\u2019\u201d"
# Markers inside code are array indexes or literal text, not citations.
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.S)
_MAX_RANGE = 20  # a wider "range" is more likely two separate numbers than twenty sources


@dataclass(frozen=True)
class CitedText:
    text: str
    citations: list[Citation]


def resolve_citations(text: str, passages: Sequence[Passage]) -> CitedText:
    """Citations for the passages the text cites, in order of first use; markers of unknown numbers removed.

    Each kept marker is rewritten as ``[a][b]`` with the passage's own number, so the customer sees
    the same ``[n]`` in the text as on the source list.
    """
    by_number: dict[int, Passage] = {}
    for passage in passages:
        by_number.setdefault(passage.n, passage)
    cited: dict[int, Citation] = {}

    def keep(numbers: list[int]) -> list[int]:
        known = [n for n in numbers if n in by_number]
        for n in known:
            if n not in cited:
                cited[n] = cite(by_number[n])
        return known

    return CitedText(text=_rewrite(text, keep), citations=list(cited.values()))


def strip_markers(text: str) -> str:
    """The text with every citation marker removed and the spacing around it tidied."""
    return _rewrite(text, lambda numbers: [])


def used_numbers(text: str) -> set[int]:
    """Every number the text's markers cite, whether or not a passage has it."""
    return {n for segment in _prose(text) for m in _MARKER.finditer(segment) for n in _numbers(m["run"])}


def _rewrite(text: str, keep: Callable[[list[int]], list[int]]) -> str:
    def replace(m: re.Match[str]) -> str:
        numbers = keep(_numbers(m["run"]))
        if numbers:
            return m["pre"] + "".join(f"[{n}]" for n in numbers) + m["post"]
        return _gap(m)

    pieces: list[str] = []
    last = 0
    for code in _CODE.finditer(text):
        pieces.append(_MARKER.sub(replace, text[last : code.start()]))
        pieces.append(code.group())
        last = code.end()
    pieces.append(_MARKER.sub(replace, text[last:]))
    return "".join(pieces).strip()


def _gap(m: re.Match[str]) -> str:
    """What a removed marker leaves: one space between words, nothing before punctuation or a line end."""
    before = m.string[m.start() - 1] if m.start() else "\n"
    after = m.string[m.end()] if m.end() < len(m.string) else "\n"
    if before == "\n" or after in _CLOSERS:
        return ""
    if m["pre"] or m["post"] or (before.isalnum() and after.isalnum()):
        return " "
    return ""


def _numbers(run: str) -> list[int]:
    numbers: list[int] = []
    for group in _GROUP.finditer(run):
        for m in _PART.finditer(group["body"]):
            low = int(m[1])
            high = int(m[2]) if m[2] else low
            span = range(low, high + 1) if low <= high <= low + _MAX_RANGE else (low, high)
            numbers.extend(n for n in span if n not in numbers)
    return numbers


def _prose(text: str) -> Iterator[str]:
    last = 0
    for code in _CODE.finditer(text):
        yield text[last : code.start()]
        last = code.end()
    yield text[last:]
