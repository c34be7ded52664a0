"""Exceptions raised by the WHMCS adapter, each with a message an admin can act on."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

AuthFailure = Literal["ip_not_allowed", "bad_credentials", "permission_denied", "forbidden"]

_INVALID_IP = re.compile(r"Invalid IP\s+(?P<ip>[0-9A-Fa-f:.]+)")
_INVALID_PERMISSION = re.compile(
    r'API action\s+"?(?P<action>[A-Za-z0-9_]+)"?\s+is not allowed', re.IGNORECASE
)


class WhmcsError(Exception):
    """Base of every WHMCS adapter error.

    ``outcome_unknown`` is True only for a mutating call whose effect on WHMCS cannot be
    known (the request may have been applied); the caller must re-read before retrying.
    """

    def __init__(self, message: str, *, action: str | None = None, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.action = action
        self.outcome_unknown = outcome_unknown

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, action={self.action!r})"


class WhmcsAuthError(WhmcsError):
    """WHMCS refused the call (HTTP 403): IP allow-list, credentials or API role."""

    reason: ClassVar[AuthFailure] = "forbidden"

    def __init__(
        self,
        message: str,
        *,
        explanation: str,
        whmcs_message: str = "",
        action: str | None = None,
    ) -> None:
        super().__init__(message, action=action)
        self.explanation = explanation
        self.whmcs_message = whmcs_message


class WhmcsIpNotAllowed(WhmcsAuthError):
    """The caller's IP is not on the WHMCS API IP allow-list."""

    reason: ClassVar[AuthFailure] = "ip_not_allowed"

    def __init__(
        self, message: str, *, ip: str | None, whmcs_message: str, action: str | None = None
    ) -> None:
        where = f"this server's IP address ({ip})" if ip else "this server's IP address"
        explanation = (
            f"WHMCS refused the connection from {where}. In WHMCS open System Settings → General "
            "Settings → Security → API IP Access Restriction and add that address, or configure an "
            "API access key."
        )
        super().__init__(message, explanation=explanation, whmcs_message=whmcs_message, action=action)
        self.ip = ip


class WhmcsInvalidCredentials(WhmcsAuthError):
    """The identifier/secret (or legacy username/password) were rejected."""

    reason: ClassVar[AuthFailure] = "bad_credentials"

    def __init__(self, message: str, *, whmcs_message: str, legacy: bool, action: str | None = None) -> None:
        if legacy:
            explanation = (
                "WHMCS rejected the admin username or password. Check both, and that the admin "
                'user has the "API Access" permission.'
            )
        elif whmcs_message.strip().lower().startswith("invalid or missing credentials"):
            explanation = (
                "WHMCS does not know this API identifier. Copy the identifier again from System "
                "Settings → Manage API Credentials (or create a new credential)."
            )
        else:
            explanation = (
                "WHMCS rejected the API secret. Paste the secret again; if it was lost, regenerate "
                "it in System Settings → Manage API Credentials."
            )
        super().__init__(message, explanation=explanation, whmcs_message=whmcs_message, action=action)


class WhmcsPermissionDenied(WhmcsAuthError):
    """The API role bound to the credentials does not allow ``denied_action``."""

    reason: ClassVar[AuthFailure] = "permission_denied"

    def __init__(
        self, message: str, *, denied_action: str | None, whmcs_message: str, action: str | None = None
    ) -> None:
        what = denied_action or "this action"
        explanation = (
            f"The WHMCS API role of these credentials does not allow {what}. In WHMCS open System "
            f"Settings → Manage API Credentials → API Roles, edit the role and allow {what}."
        )
        super().__init__(message, explanation=explanation, whmcs_message=whmcs_message, action=action)
        self.denied_action = denied_action


class WhmcsCommandNotFound(WhmcsError):
    """WHMCS does not know the action (too old a version, or a typo)."""


class WhmcsApiError(WhmcsError):
    """WHMCS answered ``result=error``; ``whmcs_message`` is its text verbatim."""

    def __init__(self, message: str, *, whmcs_message: str, action: str | None = None) -> None:
        super().__init__(message, action=action)
        self.whmcs_message = whmcs_message

    @property
    def not_found(self) -> bool:
        """True for the "... ID Not Found" family (ticket, client, department were deleted)."""
        return "not found" in self.whmcs_message.lower()


class WhmcsUnavailable(WhmcsError):
    """WHMCS could not be reached or failed (5xx, HTML page, refused connection, 429)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        action: str | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message, action=action, outcome_unknown=outcome_unknown)
        self.status_code = status_code


class WhmcsBadResponse(WhmcsError):
    """WHMCS answered something that is not the JSON we expect."""


class WhmcsTimeout(WhmcsError):
    """No answer in time. On a mutating call ``outcome_unknown`` says to re-read (GetTicket)."""


def auth_error_from_message(whmcs_message: str, *, action: str, legacy: bool) -> WhmcsAuthError | None:
    """Classify an authentication/authorisation message; None when it is not one of those."""
    text = whmcs_message.strip()
    lowered = text.lower()
    if lowered.startswith("invalid ip"):
        match = _INVALID_IP.search(text)
        ip = match.group("ip") if match else None
        return WhmcsIpNotAllowed(
            f"WHMCS {action}: IP address {ip or '(unknown)'} is not allowed to use the API",
            ip=ip,
            whmcs_message=text,
            action=action,
        )
    if lowered.startswith(("authentication failed", "invalid or missing credentials")):
        return WhmcsInvalidCredentials(
            f"WHMCS {action}: credentials rejected ({text})", whmcs_message=text, legacy=legacy, action=action
        )
    if lowered.startswith("invalid permissions"):
        match = _INVALID_PERMISSION.search(text)
        denied = canonical_action(match.group("action")) if match else None
        return WhmcsPermissionDenied(
            f"WHMCS {action}: the API role does not allow {denied or 'this action'}",
            denied_action=denied,
            whmcs_message=text,
            action=action,
        )
    return None


# The product's actions, spelled as WHMCS documents them; WHMCS echoes names as sent (often lowercase).
KNOWN_ACTIONS: tuple[str, ...] = (
    "GetTickets",
    "GetTicket",
    "AddTicketReply",
    "AddTicketNote",
    "UpdateTicket",
    "OpenTicket",
    "GetSupportDepartments",
    "GetSupportStatuses",
    "GetClientsDetails",
    "GetAdminDetails",
    "GetTicketCounts",
)
_BY_LOWER = {name.lower(): name for name in KNOWN_ACTIONS}


def canonical_action(name: str) -> str:
    """``getticket`` → ``GetTicket`` for the actions we know; other names unchanged."""
    return _BY_LOWER.get(name.lower(), name)
