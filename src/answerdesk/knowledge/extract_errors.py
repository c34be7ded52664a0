"""Errors raised when an uploaded file cannot be turned into text; rendered by the API as 422."""

from __future__ import annotations

from typing import Any

from answerdesk.kit.errors import ValidationFailed


class ExtractionError(ValidationFailed):
    """Base class: the file was received but we cannot read knowledge out of it."""

    code = "extraction_failed"


class UnsupportedFileType(ExtractionError):
    code = "unsupported_file_type"


class EmptyDocument(ExtractionError):
    code = "empty_document"

    def __init__(self, message: str = "The file contains no text", *, details: Any = None) -> None:
        super().__init__(message, details=details)


class CorruptFile(ExtractionError):
    code = "corrupt_file"


class EncryptedFile(ExtractionError):
    code = "encrypted_file"


class MalformedFaq(ExtractionError):
    """A CSV/JSON FAQ file whose structure is wrong; ``details`` names the row/item and the key."""

    code = "malformed_faq"
