"""Byte decoding and text clean-up shared by every extractor: encodings, unicode, whitespace."""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its little-endian BOM starts with the UTF-16 one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _cp1252_table() -> dict[int, str]:
    """Map the C1 range that latin-1 yields to what cp1252 puts there (its five holes stay as they are)."""
    table: dict[int, str] = {}
    for byte in range(0x80, 0xA0):
        try:
            table[byte] = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            continue
    return table


_CP1252_FROM_LATIN1 = _cp1252_table()


def decode_text(data: bytes) -> str:
    """Decode bytes of unknown encoding; never raises.

    Order: BOM, UTF-16 without BOM (checked before UTF-8 because UTF-16 text in Latin or
    Cyrillic script is also valid UTF-8, NULs and all), strict UTF-8, then cp1252 with latin-1
    for cp1252's five undefined bytes, so Windows "smart quotes" and accents come out right
    instead of as mojibake.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    utf16 = _sniff_utf16(data)
    if utf16 is not None:
        try:
            return data.decode(utf16)
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return data.decode("latin-1").translate(_CP1252_FROM_LATIN1)


def _sniff_utf16(data: bytes) -> str | None:
    """Guess BOM-less UTF-16 from which byte of each pair carries the script's block number.

    In UTF-16 text below U+2000 one byte of every pair is small: 0x00 for Latin, 0x04 for
    Cyrillic, 0x06 for Arabic... In 8-bit text (ASCII, UTF-8, cp1252) bytes under 0x20 are
    control characters, so a column dominated by them means UTF-16.
    """
    sample = data[:4096]
    sample = sample[: len(sample) - len(sample) % 2]
    half = len(sample) // 2
    if half < 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    for encoding, high, low in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if low.count(0) >= 0.05 * half:
            continue
        top = Counter(high).most_common(2)
        if top[0][0] < 0x20 and sum(n for _, n in top) >= 0.9 * half:
            return encoding
    return None


def _build_clean_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for code in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]:
        table[code] = None
    table[ord("\n")] = "\n"
    table[ord("\t")] = " "
    for code in (0x0B, 0x0C, 0x85, 0x2028, 0x2029):
        table[code] = "\n"
    for code in (0x00A0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000):
        table[code] = " "
    # Invisible characters that only break words apart for search; ZWJ/ZWNJ stay (scripts need them).
    for code in (0x00AD, 0x200B, 0x2060, 0xFEFF):
        table[code] = None
    return table


_CLEAN_TABLE = _build_clean_table()
_SPACES = re.compile(r"[ ]{2,}")
_BLANK_LINES = re.compile(r"\n{3,}")
_WHITESPACE = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """NFC, unified newlines, no control or invisible characters, single spaces, at most one blank line."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.translate(_CLEAN_TABLE)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def clean_inline(text: str) -> str:
    """Clean text that must stay on one line: headings, list items, table cells."""
    return _WHITESPACE.sub(" ", clean_text(text)).strip()


def looks_binary(text: str) -> bool:
    """True for decoded bytes that were never text: NULs, or more than 5% control characters.

    Checked before cleaning, which would silently delete the evidence.
    """
    sample = text[:8192]
    if not sample:
        return False
    if "\x00" in sample:
        return True
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")
    return controls > 0.05 * len(sample)


_HYPHENATED_BREAK = re.compile(r"([^\W\d_])-\n[ ]*([^\W\d_])")


def dehyphenate(text: str) -> str:
    """Join words a PDF broke across lines ("docu-\\nment"), but keep "Wi-\\nFi" style capitals apart."""

    def join(match: re.Match[str]) -> str:
        if match.group(2).islower():
            return match.group(1) + match.group(2)
        return match.group(0)

    return _HYPHENATED_BREAK.sub(join, text)


_DASHES = r"[-\u2013\u2014\s]*"
_PAGE_NUMBER = re.compile(
    rf"^{_DASHES}(page|seite|pagina|página)?\s*\d+(\s*(/|of|von|de|sur)\s*\d+)?{_DASHES}$", re.I
)
_DIGITS = re.compile(r"\d+")


def running_lines(pages: Sequence[Sequence[str]], *, edge_lines: int = 2) -> list[set[int]]:
    """Per page, the indexes of running headers, footers and page numbers among its lines.

    A line counts as running when, with its digits masked, it sits among the first or last
    ``edge_lines`` lines of at least half the pages (and of at least three pages); a bare page
    number at a page edge always does.
    """

    def key(line: str) -> str:
        return _DIGITS.sub("#", line.strip().casefold())

    def edges(page: Sequence[str]) -> set[int]:
        count = len(page)
        return set(range(min(edge_lines, count))) | set(range(max(0, count - edge_lines), count))

    counts: Counter[str] = Counter()
    for page in pages:
        counts.update({key(page[i]) for i in edges(page)})
    threshold = max(3, len(pages) / 2)
    running = {k for k, n in counts.items() if n >= threshold}
    return [
        {i for i in edges(page) if key(page[i]) in running or _PAGE_NUMBER.match(page[i])} for page in pages
    ]
