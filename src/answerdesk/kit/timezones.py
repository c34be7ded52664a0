"""IANA time zone names: one check (and spelling) for every setting that names a zone."""

from __future__ import annotations

import functools
from zoneinfo import available_timezones

# Files in the zone database that are not IANA zone names.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@functools.cache
def _zone_names() -> dict[str, str]:
    """Lower-cased IANA name → its spelling, for every zone this machine's time zone data knows."""
    names = (available_timezones() - _NOT_ZONES) | {"UTC"}
    return {name.lower(): name for name in names}


def known_timezones() -> list[str]:
    """Every IANA zone name this machine knows, sorted (for pickers)."""
    return sorted(_zone_names().values())


def canonical_timezone(name: str) -> str:
    """The IANA zone name as the database spells it (``europe/berlin`` → ``Europe/Berlin``).

    Raises ValueError for a name that is not a zone (abbreviations such as ``CET`` or ``EST`` are
    accepted only where the database has them, as legacy aliases).
    """
    found = _zone_names().get(name.strip().lower())
    if found is None:
        raise ValueError(f"unknown time zone {name.strip()[:64]!r}; use an IANA name such as Europe/Berlin")
    return found
