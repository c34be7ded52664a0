"""Upper bounds for request values, so oversized input is a 422 instead of a database overflow."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# The largest PostgreSQL INTEGER: sequence numbers and offsets in queries stay below it on both databases.
SQL_INT_MAX = 2_147_483_647
# A request may carry text this long; services hold it to the configured, smaller limits with clear messages.
MAX_REQUEST_TEXT = 100_000
MAX_TOKEN_CHARS = 200  # conversation tokens, keys and other opaque strings in headers
MAX_LIST_ITEMS = 200

SqlInt = Annotated[int, Field(ge=0, le=SQL_INT_MAX)]
ShortText = Annotated[str, Field(max_length=200)]
LongText = Annotated[str, Field(max_length=MAX_REQUEST_TEXT)]


def clamp_seq(raw: str | None) -> int | None:
    """A sequence number from a header (e.g. Last-Event-ID): ASCII digits within range, else None."""
    if not raw or len(raw) > 10 or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value <= SQL_INT_MAX else None
