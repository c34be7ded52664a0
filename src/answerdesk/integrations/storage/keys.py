"""Validation of object keys and prefixes, shared by every backend so keys stay portable."""

from __future__ import annotations

from answerdesk.integrations.storage.errors import InvalidKey

# S3's own limit; keeping it everywhere means a local store can always be copied to a bucket.
MAX_KEY_BYTES = 1024


def validate_key(key: str) -> str:
    """Return ``key`` if it is a relative, '/'-separated path with no empty, '.' or '..' segment."""
    _check_text(key, "key")
    _check_segments(key, key.split("/"), "key")
    return key


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is a valid key, optionally ending with '/'.

    An empty prefix is refused: it would match every object in the store.
    """
    _check_text(prefix, "prefix")
    body = prefix[:-1] if prefix.endswith("/") else prefix
    if not body:
        raise InvalidKey(f"Invalid storage prefix {prefix!r}: it must name at least one path segment")
    _check_segments(prefix, body.split("/"), "prefix")
    return prefix


def _check_text(value: str, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidKey(f"Invalid storage {what} {value!r}: it must be a non-empty string")
    if len(value.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidKey(f"Invalid storage {what}: longer than {MAX_KEY_BYTES} bytes")
    if value.startswith("/"):
        raise InvalidKey(f"Invalid storage {what} {value!r}: absolute paths are not allowed")
    if "\\" in value:
        raise InvalidKey(f"Invalid storage {what} {value!r}: use '/' to separate segments, not '\\'")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise InvalidKey(f"Invalid storage {what} {value!r}: control characters are not allowed")


def _check_segments(value: str, segments: list[str], what: str) -> None:
    for segment in segments:
        if segment in ("", ".", ".."):
            raise InvalidKey(
                f"Invalid storage {what} {value!r}: empty, '.' and '..' segments are not allowed "
                "(a key must stay inside the storage root)"
            )
