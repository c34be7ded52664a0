"""Chunk stage of ingestion: extracted sections and FAQ pairs into retrieval-sized chunks (pure)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from answerdesk.knowledge.document import HEADING_SEPARATOR, ExtractedDocument, FaqPair, Section
from answerdesk.knowledge.sentences import split_sentences
from answerdesk.knowledge.tokens import count_tokens

ChunkKind = Literal["text", "faq"]

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Chunk:
    """A unit of retrieval. ``text`` is shown to people; ``embed_text`` is what gets embedded."""

    text: str
    section: str
    position: int
    token_count: int
    content_hash: str
    kind: ChunkKind
    tags: tuple[str, ...] = ()

    @property
    def embed_text(self) -> str:
        """The heading path on its own line above the text, so a query can match a heading."""
        return f"{self.section}\n{self.text}" if self.section else self.text


@dataclass(frozen=True, slots=True)
class _Unit:
    """A sentence (or a piece of an over-long one) and the separator that precedes it in its block."""

    text: str
    tokens: int
    separator: str


def chunk_document(
    doc: ExtractedDocument, *, target_tokens: int = 300, max_tokens: int = 400, overlap_tokens: int = 50
) -> list[Chunk]:
    """Cut a document into chunks of about ``target_tokens`` and never more than ``max_tokens``.

    Token counts are ``tokens.count_tokens`` estimates of MiniLM word pieces. MiniLM embeds only
    the first 256 pieces (``MINILM_MAX_TOKENS``), so with the defaults the tail of a full chunk is
    seen by keyword search but not by the embedding; pass ``target_tokens=200, max_tokens=240``
    to keep whole chunks inside the embedding window at the cost of more, smaller chunks.

    - FAQ pairs: one chunk per pair, "Q: ...\\nA: ...", never split, even past ``max_tokens``.
    - Sections: a section of at least half the target is chunked on its own; runs of smaller
      neighbouring sections share a chunk (each under its own heading line) while they fit the
      target. Cuts fall between sentences; consecutive chunks of one section repeat up to
      ``overlap_tokens`` of trailing sentences. A sentence longer than the budget is cut between
      words (and a "word" longer than the budget, such as a base64 blob, between characters).
    """
    if not 0 < target_tokens <= max_tokens or not 0 <= overlap_tokens <= max_tokens // 2:
        raise ValueError("need 0 < target_tokens <= max_tokens and 0 <= overlap_tokens <= max_tokens / 2")
    if doc.is_faq:
        pieces = [_faq_piece(pair) for pair in doc.faqs]
    else:
        pieces = list(_section_pieces(doc.sections, target_tokens, max_tokens, overlap_tokens))
    return [
        Chunk(
            text=text,
            section=section,
            position=position,
            token_count=count_tokens(text),
            content_hash=content_hash(text),
            kind=kind,
            tags=tags,
        )
        for position, (text, section, kind, tags) in enumerate(pieces)
    ]


def dedupe(chunks: Iterable[Chunk]) -> list[Chunk]:
    """Drop chunks whose normalised text was seen earlier in the document; positions are renumbered."""
    seen: set[str] = set()
    kept: list[Chunk] = []
    for chunk in chunks:
        if chunk.content_hash in seen:
            continue
        seen.add(chunk.content_hash)
        kept.append(replace(chunk, position=len(kept)))
    return kept


def content_hash(text: str) -> str:
    """sha256 hex of the text with unicode (NFC), case and whitespace differences removed."""
    normalised = _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text).casefold()).strip()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


_Piece = tuple[str, str, ChunkKind, tuple[str, ...]]


def _faq_piece(pair: FaqPair) -> _Piece:
    return f"Q: {pair.question}\nA: {pair.answer}", "", "faq", pair.tags


def split_faq(text: str) -> tuple[str, str] | None:
    """(question, answer) of an FAQ chunk stored as ``Q: …\\nA: …``; ``None`` for any other text."""
    if not text.startswith("Q: "):
        return None
    question, sep, answer = text[3:].partition("\nA: ")
    return (question.strip(), answer.strip()) if sep else None


def _section_pieces(sections: Sequence[Section], target: int, limit: int, overlap: int) -> Iterable[_Piece]:
    small = target // 2
    # Pieces of an over-long sentence leave room for the overlap carried into their chunk.
    piece_limit = min(target, limit - overlap)
    units = [_units(section, piece_limit) for section in sections]
    sizes = [sum(unit.tokens for unit in section_units) for section_units in units]
    index = 0
    while index < len(sections):
        group = [index]
        total = sizes[index] + count_tokens(sections[index].heading)
        while sizes[group[-1]] < small and group[-1] + 1 < len(sections):
            nxt = group[-1] + 1
            extra = sizes[nxt] + count_tokens(sections[nxt].heading)
            if sizes[nxt] >= small or total + extra > target:
                break
            group.append(nxt)
            total += extra
        index = group[-1] + 1
        if len(group) == 1:
            heading = sections[group[0]].heading
            for chunk_units in _pack(units[group[0]], target, limit, overlap):
                yield _join(chunk_units), heading, "text", ()
        else:
            yield _merged(sections, units, group)


def _merged(sections: Sequence[Section], units: list[list[_Unit]], group: list[int]) -> _Piece:
    """Small neighbouring sections in one chunk, labelled by their common heading path."""
    paths = [sections[i].heading_path for i in group]
    common: list[str] = []
    for parts in zip(*paths, strict=False):
        if any(part != parts[0] for part in parts):
            break
        common.append(parts[0])
    blocks: list[str] = []
    for i, path in zip(group, paths, strict=True):
        rest = HEADING_SEPARATOR.join(path[len(common) :])
        body = _join(units[i])
        blocks.append(f"{rest}\n{body}" if rest else body)
    return "\n\n".join(blocks), HEADING_SEPARATOR.join(common), "text", ()


def _units(section: Section, piece_limit: int) -> list[_Unit]:
    units: list[_Unit] = []
    for block in section.blocks:
        block_separator = "\n\n"
        for line in block.split("\n"):
            separator = block_separator
            for sentence in split_sentences(line):
                for piece in _split_long(sentence, piece_limit):
                    units.append(_Unit(piece, count_tokens(piece), separator))
                    separator = " "
            block_separator = "\n"
    return units


def _split_long(sentence: str, limit: int) -> list[str]:
    """Cut an over-long sentence between words into pieces of at most ``limit`` tokens."""
    if count_tokens(sentence) <= limit:
        return [sentence]
    pieces: list[str] = []
    words: list[str] = []
    used = 0
    for word in _words_within(sentence.split(), limit):
        cost = count_tokens(word)
        if words and used + cost > limit:
            pieces.append(" ".join(words))
            words, used = [], 0
        words.append(word)
        used += cost
    if words:
        pieces.append(" ".join(words))
    return pieces


def _words_within(words: list[str], limit: int) -> Iterable[str]:
    # No character costs more than one token, so slices of ``limit`` characters always fit.
    for word in words:
        if count_tokens(word) <= limit:
            yield word
        else:
            yield from (word[i : i + limit] for i in range(0, len(word), limit))


def _pack(units: list[_Unit], target: int, limit: int, overlap: int) -> list[list[_Unit]]:
    """Greedy packing of one section's sentences, with trailing sentences repeated as overlap."""
    chunks: list[list[_Unit]] = []
    current: list[_Unit] = []
    used = 0
    fresh = 0  # units in ``current`` that are not overlap from the previous chunk
    for index, unit in enumerate(units):
        if fresh and used + unit.tokens > target:
            rest = sum(u.tokens for u in units[index:])
            if used + rest <= limit:
                # Everything left fits under the hard limit: better one fuller chunk than a tiny tail.
                current.extend(units[index:])
                fresh = len(current)
                break
            chunks.append(current)
            current = _overlap_tail(current, overlap)
            used = sum(u.tokens for u in current)
            fresh = 0
        current.append(unit)
        used += unit.tokens
        fresh += 1
    if fresh:
        chunks.append(current)
    return chunks


def _overlap_tail(units: list[_Unit], overlap: int) -> list[_Unit]:
    """Trailing whole sentences worth at most ``overlap`` tokens, or the last words of the last one."""
    tail: list[_Unit] = []
    used = 0
    for unit in reversed(units[1:]):
        if used + unit.tokens > overlap:
            break
        tail.insert(0, unit)
        used += unit.tokens
    if tail or overlap == 0:
        return tail
    words: list[str] = []
    for word in reversed(units[-1].text.split()):
        cost = count_tokens(word)
        if used + cost > overlap:
            break
        words.insert(0, word)
        used += cost
    return [_Unit(" ".join(words), used, " ")] if words else []


def _join(units: Sequence[_Unit]) -> str:
    return "".join(unit.separator + unit.text for unit in units).strip()
