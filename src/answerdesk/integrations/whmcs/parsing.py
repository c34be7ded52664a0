"""Pure functions that turn WHMCS's loosely typed JSON into plain Python values."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from answerdesk.kit.timezones import canonical_timezone

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off", "null", "none"})
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
_TAG = re.compile(r"<\s*/?\s*[A-Za-z][A-Za-z0-9]*(\s[^<>]*)?/?\s*>")
_BLANK_RUN = re.compile(r"\n{3,}")
_NON_WORD = re.compile(r"\W+")


def unwrap_list(value: Any, key: str | None = None) -> list[Any]:
    """Normalise a WHMCS list wrapper (``{"ticket": [...]}``) to a plain list.

    Accepts every shape WHMCS produces: ``[]``, ``{}``, ``""``, ``None``, ``{"ticket": []}``,
    ``{"ticket": {...single item...}}``, numeric-keyed objects (``{"0": {...}, "1": {...}}``) at
    either level, and a bare list of items.
    """
    inner = value
    if isinstance(value, Mapping) and key is not None and key in value:
        inner = value[key]
    return _as_items(inner)


def _as_items(value: Any) -> list[Any]:
    if value is None or value == "" or value is False:
        return []
    if isinstance(value, list | tuple):
        return [item for item in value if item not in (None, "")]
    if isinstance(value, Mapping):
        if not value:
            return []
        keys = list(value)
        if all(isinstance(k, str | int) and str(k).isdigit() for k in keys):
            ordered = sorted(keys, key=lambda k: int(k))
            return [value[k] for k in ordered if value[k] not in (None, "")]
        return [value]
    # A lone scalar is not a list of objects; callers validate items, so drop it.
    return []


def to_int(value: Any) -> int:
    """``"12"``, ``12``, ``12.0``, ``" 12 "`` → 12; ``""``/None → 0; anything else raises ValueError."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"not an integer: {value!r}")
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0
        try:
            return int(text)
        except ValueError:
            number = float(text)
            if not number.is_integer():
                raise ValueError(f"not an integer: {value!r}") from None
            return int(number)
    raise ValueError(f"not an integer: {value!r}")


def to_optional_int(value: Any) -> int | None:
    """Like :func:`to_int` but ``""``/None stay None (for "no value" as opposed to 0)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return to_int(value)


def to_str(value: Any) -> str:
    """None → ``""``; numbers → their text; strings unchanged."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | str):
        return str(value)
    raise ValueError(f"not a string: {type(value).__name__}")


def to_bool(value: Any) -> bool:
    """WHMCS booleans arrive as ``1``/``"1"``/``"true"``/``true``/``""``."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int | float):
        return value != 0
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def to_csv_list(value: Any) -> list[str]:
    """``"a,b, c"`` or ``["a", "b"]`` → ``["a", "b", "c"]`` (WHMCS joins some lists with commas)."""
    if isinstance(value, list | tuple):
        return [to_str(v).strip() for v in value if to_str(v).strip()]
    return [part.strip() for part in to_str(value).split(",") if part.strip()]


def parse_whmcs_datetime(value: Any, tz: tzinfo = UTC) -> datetime | None:
    """Parse WHMCS's zone-less ``Y-m-d H:i:s`` (the WHMCS server's local time, ``tz``) into UTC.

    Around DST changes a wall time is read as PHP reads it: one that occurs twice (clocks go back)
    is the first of the two; one that never occurs (clocks go forward) is moved forward by the gap.
    Empty values and MySQL zero dates (``0000-00-00 00:00:00``) give None, as does anything
    unparseable: dates are informational and must not fail a whole ticket.
    """
    if isinstance(value, datetime):
        return _as_utc(value, tz)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or text.startswith("0000-00-00"):
        return None
    parsed: datetime | None = None
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    return _as_utc(parsed, tz)


def _as_utc(value: datetime, tz: tzinfo) -> datetime:
    # fold=0 (the default) is what gives PHP's reading of repeated and skipped wall times.
    local = value if value.tzinfo is not None else value.replace(tzinfo=tz, fold=0)
    return local.astimezone(UTC)


def server_timezone(name: str) -> tzinfo:
    """The zone a WHMCS server writes its dates in, from its IANA name; ValueError if unknown."""
    canonical = canonical_timezone(name)
    if canonical == "UTC":
        return UTC  # needs no time zone data
    try:
        return ZoneInfo(canonical)
    except ZoneInfoNotFoundError:
        raise ValueError(f"time zone {canonical!r} has no data on this machine") from None


def format_whmcs_datetime(value: datetime, tz: tzinfo = UTC) -> str:
    """An aware datetime → ``Y-m-d H:i:s`` in the WHMCS server's zone (for ``created``)."""
    local = value.astimezone(tz) if value.tzinfo is not None else value
    return local.strftime("%Y-%m-%d %H:%M:%S")


def normalise_message(raw: str | None) -> str:
    """Plain text of a ticket message: ``\\r\\n`` → ``\\n``, HTML to text, entities decoded.

    Markdown is kept as written (it reads fine as text); HTML fragments become text with
    line breaks where blocks ended and link targets kept in parentheses.
    """
    if not raw:
        return ""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    text = _html_to_text(text) if _TAG.search(text) else html.unescape(text)
    text = text.replace("\xa0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()


def comparable_text(text: str) -> str:
    """Text compared without markup, spacing or case: WHMCS may render Markdown or HTML-escape."""
    return _NON_WORD.sub("", normalise_message(text).lower())


_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "tr", "li", "ul", "ol", "table", "blockquote", "pre", "hr", "section", "article"}
    | {f"h{n}" for n in range(1, 7)}
)
_SKIP_TAGS = frozenset({"script", "style", "head", "title"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        self._links: list[tuple[str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
        elif tag == "a":
            self._links.append((dict(attrs).get("href"), len(self.parts)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS and tag not in ("br", "li"):
            self.parts.append("\n")
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            shown = "".join(self.parts[start:])
            if href and href.startswith(("http://", "https://", "mailto:")) and href not in shown:
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def _html_to_text(fragment: str) -> str:
    # Source line breaks are kept: WHMCS often stores "<p>..</p>\r\n" or text with stray tags.
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.parts)
