"""Offline answers without an LLM: the most relevant sentences of the best passages, quoted and cited."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from answerdesk.answers.citations import CitedText
from answerdesk.answers.headings import section_label
from answerdesk.answers.passages import Passage, cite, split_faq
from answerdesk.answers.words import containment, content_words, jaccard
from answerdesk.knowledge.sentences import split_sentences
from answerdesk.languages.texts import Text, english, say

# The English wording; customers get these in their language (languages/texts.py).
EXTRACTIVE_LABEL = english(Text.extractive_label)
EXTRACTIVE_NOTHING_FOUND = english(Text.extractive_nothing)

_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_ORDERED_ITEM = re.compile(r"^\s*\d{1,3}[.)]\s+")
_FENCE = re.compile(r"^\s*(```|~~~)")
_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_HOW_TO = re.compile(r"\s*(?:how\b|what\s+are\s+the\s+steps\b|steps\b)", re.IGNORECASE)
_DUPLICATE_JACCARD = 0.6
_DUPLICATE_CONTAINMENT = 0.8

# Numbered steps are quoted together; bullets are separate facts, each quoted on its own merit.
UnitKind = Literal["sentence", "steps", "item", "code", "line"]


@dataclass(frozen=True)
class _Unit:
    """A piece that is quoted whole: a sentence, numbered steps, a bullet, a code block or a table row."""

    text: str
    kind: UnitKind
    block: int
    position: int
    words: frozenset[str]
    items: tuple[str, ...] = ()  # the steps, so a long procedure can be quoted from its start


def compose_extractive(
    question: str,
    passages: Sequence[Passage],
    *,
    max_passages: int = 2,
    max_chars_per_passage: int = 600,
    language: str | None = None,
) -> CitedText:
    """A labelled answer quoting the best passages (in the given order), each quote followed by its source.

    The label is in ``language`` (the customer's); the quotes are as written.
    """
    chosen = _distinct(passages, max_passages)
    if not chosen:
        return CitedText(text=say(Text.extractive_nothing, language), citations=[])
    asked = content_words(question)
    wants_steps = bool(_HOW_TO.match(question))
    parts = [say(Text.extractive_label, language)]
    # The first passage is quoted whatever its words; later ones only when they share some with the question.
    chosen = chosen[:1] + [p for p in chosen[1:] if asked & content_words(_body(p))]
    for passage in chosen:
        quote = _quote(asked, _units(_body(passage)), max_chars_per_passage, wants_steps=wants_steps)
        parts.append(f"{_blockquote(quote)}\n\n[{passage.n}] — {_attribution(passage)}")
    return CitedText(text="\n\n".join(parts), citations=[cite(p) for p in chosen])


def _body(passage: Passage) -> str:
    """What is worth quoting: for an FAQ only the answer, since the question was just asked."""
    faq = split_faq(passage.text) if passage.kind == "faq" else None
    return faq[1] if faq else passage.text.strip()


def _attribution(passage: Passage) -> str:
    faq = split_faq(passage.text) if passage.kind == "faq" else None
    if faq:
        return f"FAQ: {faq[0]}"
    section = section_label(passage)
    return f"{passage.title}, {section}" if section else passage.title


def _distinct(passages: Sequence[Passage], limit: int) -> list[Passage]:
    chosen: list[Passage] = []
    seen: list[set[str]] = []
    for passage in passages:
        if len(chosen) >= limit:
            break
        words = content_words(_body(passage))
        if not words:
            continue
        if any(
            jaccard(words, other) >= _DUPLICATE_JACCARD or containment(words, other) >= _DUPLICATE_CONTAINMENT
            for other in seen
        ):
            continue
        chosen.append(passage)
        seen.append(words)
    return chosen


def _units(text: str) -> list[_Unit]:
    """The text cut into quotable pieces, headings left out (the source line names the section)."""
    units: list[_Unit] = []

    def add(piece: str, kind: UnitKind, block: int, items: tuple[str, ...] = ()) -> None:
        units.append(_Unit(piece, kind, block, len(units), frozenset(content_words(piece)), items))

    def add_list(items: list[str], block: int) -> None:
        if _ORDERED_ITEM.match(items[0]):
            add("\n".join(items), "steps", block, tuple(items))
        else:
            for item in items:
                add(item, "item", block)

    for block_index, block in enumerate(_blocks(text)):
        lines = block.split("\n")
        if _FENCE.match(lines[0]):
            add(block, "code", block_index)
            continue
        if len(lines) > 1 and _is_heading(lines[0]):
            lines = lines[1:]
        items: list[str] = []
        for line in lines:
            if _MARKDOWN_HEADING.match(line):
                continue
            if _LIST_ITEM.match(line) or (items and line.startswith((" ", "\t"))):
                if _LIST_ITEM.match(line) or not items:
                    items.append(line.rstrip())
                else:
                    items[-1] += "\n" + line.rstrip()
                continue
            if items:
                add_list(items, block_index)
                items = []
            kind: UnitKind = "sentence" if len(lines) == 1 else "line"
            for sentence in split_sentences(line) if kind == "sentence" else [line.strip()]:
                add(sentence, kind, block_index)
        if items:
            add_list(items, block_index)
    return units


def _blocks(text: str) -> list[str]:
    """Paragraphs, lists, tables and code fences; a fence keeps its blank lines."""
    blocks: list[str] = []
    current: list[str] = []
    in_fence = False
    for line in text.replace("\r\n", "\n").split("\n"):
        if _FENCE.match(line):
            if not in_fence and current:
                blocks.append("\n".join(current))
                current = []
            current.append(line)
            if in_fence:
                blocks.append("\n".join(current))
                current = []
            in_fence = not in_fence
        elif in_fence or line.strip():
            current.append(line)
        elif current:
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return blocks


def _is_heading(line: str) -> bool:
    """A short first line with no sentence end: chunking writes merged sections' headings like that."""
    stripped = line.strip()
    if _MARKDOWN_HEADING.match(line):
        return True
    if _LIST_ITEM.match(line) or not stripped or len(stripped) > 80 or "; " in stripped:
        return False  # "Key: value; Key: value" lines are table rows
    return stripped[-1] not in ".:;!," and (stripped[-1] != "?" or len(stripped.split()) <= 8)


def _quote(asked: set[str], units: list[_Unit], budget: int, *, wants_steps: bool) -> str:
    """The pieces sharing most words with the question that fit the budget; at least one piece."""
    if sum(len(u.text) for u in units) <= budget:
        return _render(units, {u.position: u.text for u in units})

    def score(unit: _Unit) -> int:
        overlap = len(asked & unit.words)
        # Numbered steps are what a "how do I" question is after, when they are on topic.
        return overlap + 1 if overlap and wants_steps and _is_steps(unit) else overlap

    ranked = sorted(units, key=lambda u: (-score(u), u.position))
    # Nothing matches word for word, yet retrieval chose the passage: quote it from the start.
    candidates = [u for u in ranked if score(u)] or units
    picked: dict[int, str] = {}
    used = 0
    for unit in candidates:
        if _introduces_list(units, unit):
            continue  # "To change it:" comes only with its list
        text = unit.text
        if used + len(text) > budget:
            if picked:
                continue
            text = _fit(unit, budget)
        picked[unit.position] = text
        used += len(text)
        if unit.kind in ("steps", "item"):
            used += _add_intro(picked, units, unit, budget - used)
    return _render(units, picked)


def _is_steps(unit: _Unit) -> bool:
    return unit.kind == "steps"


def _introduces_list(units: list[_Unit], unit: _Unit) -> bool:
    following = unit.position + 1
    return unit.text.endswith(":") and following < len(units) and units[following].kind in ("steps", "item")


def _add_intro(picked: dict[int, str], units: list[_Unit], unit: _Unit, room: int) -> int:
    """A list reads best with the sentence that introduces it ("To change it:"), when that fits."""
    start = unit.position
    while start > 0 and units[start - 1].kind == unit.kind == "item" and units[start - 1].block == unit.block:
        start -= 1  # the intro stands before the first bullet, not before this one
    if start == 0:
        return 0
    before = units[start - 1]
    if before.position in picked or not _introduces_list(units, before) or len(before.text) > room:
        return 0
    picked[before.position] = before.text
    return len(before.text)


def _fit(unit: _Unit, budget: int) -> str:
    """Part of a piece too long to quote whole: steps from the first on, anything else cut between words."""
    if unit.kind == "steps":
        kept: list[str] = []
        used = 0
        for item in unit.items:
            if used + len(item) + 1 > budget:
                break  # steps only make sense from the first one on
            kept.append(item)
            used += len(item) + 1
        if kept:
            return "\n".join([*kept, "…"])
    cut = unit.text[: max(budget - 1, 1)].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def _render(units: list[_Unit], picked: dict[int, str]) -> str:
    """Picked pieces in their original order: neighbours in a paragraph share a line, gaps show as …."""
    lines: list[str] = []
    previous: _Unit | None = None
    for position in sorted(picked):
        unit = units[position]
        text = picked[position]
        joins_paragraph = (
            previous is not None and previous.kind == unit.kind == "sentence" and previous.block == unit.block
        )
        if joins_paragraph and previous is not None:
            separator = " " if position == previous.position + 1 else " … "
            lines[-1] += separator + text
        else:
            same_list = previous is not None and previous.block == unit.block and previous.kind == unit.kind
            if previous is not None and not (same_list and unit.kind in ("line", "item")):
                lines.append("")
            lines.append(text)
        previous = unit
    return "\n".join(lines)


def _blockquote(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.split("\n"))
