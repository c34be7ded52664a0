"""Sealing connector secrets at rest: AES-256-GCM under a key derived (HKDF-SHA256) from SECRET_KEY."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"
NONCE_BYTES = 12
# The info string separates this key from any other key derived from SECRET_KEY later.
_INFO = b"answerdesk/connector-secrets/v1"


class SecretUnreadable(Exception):
    """A sealed value could not be opened (SECRET_KEY changed, or the value was tampered with)."""


class SecretBox:
    """Seals short strings; each value gets its own random nonce, and the field name is bound as
    associated data so a sealed secret cannot be swapped into another column and still open."""

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("SecretBox needs a non-empty SECRET_KEY")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode())
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def seal(self, plaintext: str, *, field: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), field.encode())
        return f"{VERSION}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, token: str, *, field: str) -> str:
        version, _, body = token.partition(":")
        if version != VERSION or not body:
            raise SecretUnreadable(f"unknown sealed-value format for {field}")
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            plaintext = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], field.encode())
        except (InvalidTag, ValueError):
            raise SecretUnreadable(
                f"the stored {field} cannot be decrypted (was SECRET_KEY changed?); enter it again"
            ) from None
        return plaintext.decode()
