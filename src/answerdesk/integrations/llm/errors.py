"""Errors an LLM provider raises; services turn them into AppErrors or an extractive answer."""

from __future__ import annotations


class LLMError(Exception):
    """Base class: the provider could not produce a completion."""

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.model = model
        self.status_code = status_code
        # Seconds the server asked us to wait (Retry-After), when it said so.
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """Worth another attempt on the same model after a pause."""
        return False


class LLMUnavailable(LLMError):
    """Rate limited (429), server error (5xx) or connection failure, after the retries."""

    @property
    def retryable(self) -> bool:
        return True


class LLMTimeout(LLMError):
    """No answer (or no first token) in time."""


class LLMBadResponse(LLMError):
    """The server answered with something that is not a valid chat completion."""


class LLMRejected(LLMError):
    """The server refused the request (4xx other than 408/409/429): bad key, unknown model, too long."""
