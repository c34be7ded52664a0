"""Sealing secrets: round trip, a fresh nonce per value, bound to its field, useless under another key."""

from __future__ import annotations

import pytest

from answerdesk.tickets.crypto import SecretBox, SecretUnreadable

KEY = "a-long-test-secret-key-0123456789abcdef"


def test_round_trip_and_fresh_nonce() -> None:
    box = SecretBox(KEY)
    first, second = box.seal("s3cr3t-value", field="secret"), box.seal("s3cr3t-value", field="secret")
    assert first != second  # a new nonce per value
    assert "s3cr3t" not in first
    assert box.open(first, field="secret") == box.open(second, field="secret") == "s3cr3t-value"


def test_value_is_bound_to_its_field() -> None:
    box = SecretBox(KEY)
    sealed = box.seal("value", field="secret")
    with pytest.raises(SecretUnreadable):
        box.open(sealed, field="accesskey")


def test_other_key_or_tampering_cannot_open() -> None:
    sealed = SecretBox(KEY).seal("value", field="secret")
    with pytest.raises(SecretUnreadable, match="SECRET_KEY"):
        SecretBox(KEY + "x").open(sealed, field="secret")
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SecretUnreadable):
        SecretBox(KEY).open(tampered, field="secret")
    assert "hidden" in repr(SecretBox(KEY))
