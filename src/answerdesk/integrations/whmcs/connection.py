"""The admin "Test connection" check: authenticate, then probe every action the product needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from answerdesk.integrations.whmcs.errors import (
    WhmcsApiError,
    WhmcsAuthError,
    WhmcsBadResponse,
    WhmcsCommandNotFound,
    WhmcsError,
    WhmcsIpNotAllowed,
    WhmcsPermissionDenied,
    WhmcsTimeout,
)
from answerdesk.integrations.whmcs.schemas import ConnectionFailure, WhmcsAdmin, WhmcsConnectionCheck

if TYPE_CHECKING:
    from answerdesk.integrations.whmcs.client import ParamValue, WhmcsClient

# Each probe is a call WHMCS rejects after the permission check (ticket/client/department id 0
# does not exist, required fields are missing), so it proves the role allows the action
# without reading customer data or changing anything.
READ_PROBES: tuple[tuple[str, Mapping[str, ParamValue]], ...] = (
    ("GetTickets", {"limitnum": 1}),
    ("GetTicket", {"ticketid": 0}),
    ("GetSupportDepartments", {}),
    ("GetSupportStatuses", {}),
    ("GetClientsDetails", {"clientid": 0}),
)
WRITE_PROBES: tuple[tuple[str, Mapping[str, ParamValue]], ...] = (
    ("AddTicketReply", {"ticketid": 0}),
    ("AddTicketNote", {"ticketid": 0}),
    ("UpdateTicket", {"ticketid": 0}),
    ("OpenTicket", {"deptid": 0}),
)


async def check_connection(client: WhmcsClient, *, probe_write_actions: bool = True) -> WhmcsConnectionCheck:
    """Call GetAdminDetails, then each required action; report the first blocking problem plainly.

    A role that lacks some actions is reported with all of them (``missing_actions``), so the
    admin fixes the role once. Never raises for problems on the WHMCS side.
    """
    checked: list[str] = []
    missing: list[str] = []
    admin: WhmcsAdmin | None = None
    try:
        admin = await client.get_admin_details()
        checked.append("GetAdminDetails")
    except WhmcsPermissionDenied:
        missing.append("GetAdminDetails")
    except WhmcsError as exc:
        return _failure(exc, checked)

    probes = READ_PROBES + (WRITE_PROBES if probe_write_actions else ())
    for action, params in probes:
        try:
            await client.call(action, params)
        except WhmcsPermissionDenied:
            missing.append(action)
            continue
        except WhmcsApiError:
            pass  # Rejected for the bogus id: the role allows the action.
        except WhmcsError as exc:
            return _failure(exc, checked, admin)
        checked.append(action)

    if missing:
        names = ", ".join(missing)
        return WhmcsConnectionCheck(
            ok=False,
            failure="permission_denied",
            message=(
                f"Connected, but the WHMCS API role does not allow: {names}. In WHMCS open System "
                "Settings → Manage API Credentials → API Roles, edit the role and allow these actions."
            ),
            action=missing[0],
            missing_actions=missing,
            checked_actions=checked,
            admin=admin,
        )
    who = f" as {admin.name}" if admin is not None and admin.name else ""
    return WhmcsConnectionCheck(
        ok=True,
        message=f"Connected to WHMCS{who}; all {len(checked)} required API actions are allowed.",
        checked_actions=checked,
        admin=admin,
    )


def _failure(exc: WhmcsError, checked: list[str], admin: WhmcsAdmin | None = None) -> WhmcsConnectionCheck:
    failure: ConnectionFailure
    if isinstance(exc, WhmcsAuthError):
        failure = exc.reason
        message = exc.explanation
    else:
        failure = _KINDS.get(type(exc), "unavailable")
        message = exc.message
    return WhmcsConnectionCheck(
        ok=False,
        failure=failure,
        message=message,
        ip=exc.ip if isinstance(exc, WhmcsIpNotAllowed) else None,
        action=exc.denied_action if isinstance(exc, WhmcsPermissionDenied) else exc.action,
        checked_actions=checked,
        admin=admin,
    )


_KINDS: dict[type[WhmcsError], ConnectionFailure] = {
    WhmcsCommandNotFound: "command_not_found",
    WhmcsTimeout: "timeout",
    WhmcsBadResponse: "bad_response",
    WhmcsApiError: "api_error",
}
