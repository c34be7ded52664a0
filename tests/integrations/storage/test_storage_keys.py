"""The key and prefix rules every backend shares (pure, no I/O)."""

from __future__ import annotations

import pytest

from answerdesk.integrations.storage import InvalidKey, validate_key, validate_prefix

GOOD_KEYS = [
    "original.pdf",
    "org/0b8f6a4e-61f5-4c57-9d55-7d1e0d7e2b7a/documents/5c1f/original.pdf",
    "org/1/.hidden",
    "org/1/a..b.pdf",
    "org/1/tarifs été 2026.pdf",
    "a" * 1024,
]


@pytest.mark.parametrize("key", GOOD_KEYS, ids=repr)
def test_good_keys_are_returned_unchanged(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "non-empty"),
        ("/etc/passwd", "absolute"),
        ("../outside.pdf", r"'\.\.'"),
        ("org/../../outside.pdf", r"'\.\.'"),
        ("org/..", r"'\.\.'"),
        ("org/./a.pdf", "segments"),
        ("org//a.pdf", "segments"),
        ("org/a/", "segments"),
        ("org\\..\\a.pdf", "'/'"),
        ("org/a\x00.pdf", "control"),
        ("org/a\x7f.pdf", "control"),
        ("é" * 513, "1024 bytes"),
    ],
    ids=repr,
)
def test_bad_keys_are_refused_with_the_reason(key: str, reason: str) -> None:
    with pytest.raises(InvalidKey, match=reason):
        validate_key(key)


@pytest.mark.parametrize("prefix", ["org", "org/", "org/1/documents/", "org/1/doc"])
def test_good_prefixes_are_returned_unchanged(prefix: str) -> None:
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["", "/", "//", "../", "org/../", "/org/", "org//", "org/./"], ids=repr)
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(InvalidKey, match="Invalid storage prefix"):
        validate_prefix(prefix)
