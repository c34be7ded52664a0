"""Async client for the WHMCS External API (includes/api.php) returning our pydantic models."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, tzinfo
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import httpx
import structlog
from pydantic import BaseModel, SecretStr, ValidationError

from answerdesk.integrations.whmcs.connection import check_connection
from answerdesk.integrations.whmcs.errors import (
    WhmcsApiError,
    WhmcsAuthError,
    WhmcsBadResponse,
    WhmcsCommandNotFound,
    WhmcsError,
    WhmcsTimeout,
    WhmcsUnavailable,
    auth_error_from_message,
    canonical_action,
)
from answerdesk.integrations.whmcs.parsing import to_str, unwrap_list
from answerdesk.integrations.whmcs.schemas import (
    WhmcsAdmin,
    WhmcsClientDetails,
    WhmcsConnectionCheck,
    WhmcsDepartment,
    WhmcsOpenedTicket,
    WhmcsStatus,
    WhmcsTicket,
    WhmcsTicketPage,
    WhmcsTicketSummary,
)
from answerdesk.kit import metrics

log = structlog.get_logger(__name__)

ParamValue = str | int | bool | None
Priority = Literal["Low", "Medium", "High"]
RepliesSort = Literal["ASC", "DESC"]
ModelT = TypeVar("ModelT", bound=BaseModel)

# Reads are safe to repeat; everything else may double-post (WHMCS has no idempotency key).
READ_ACTIONS = frozenset(
    {
        "gettickets",
        "getticket",
        "getsupportdepartments",
        "getsupportstatuses",
        "getclientsdetails",
        "getadmindetails",
        "getticketcounts",
        "getticketnotes",
    }
)
_SECRET_FIELDS = frozenset({"identifier", "secret", "username", "password", "accesskey"})


def api_endpoint(base_url: str) -> str:
    """``https://host/whmcs`` (or the full ``.../includes/api.php``) → the API endpoint URL."""
    url = base_url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("WHMCS URL must start with http:// or https:// and name a host")
    if parts.query or parts.fragment:
        raise ValueError("WHMCS URL must not contain a query string or fragment")
    url = url.rstrip("/")
    if url.lower().endswith("/includes/api.php"):
        return url
    return f"{url}/includes/api.php"


def is_read_action(action: str) -> bool:
    return action.lower() in READ_ACTIONS


def encode_params(params: Mapping[str, ParamValue]) -> dict[str, str]:
    """Form fields as WHMCS expects them: booleans as 1/0, None left out."""
    encoded: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        encoded[key] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    return encoded


class WhmcsClient:
    """One WHMCS installation. Build once (at start-up or per tenant), close with :meth:`aclose`.

    Reads are retried on 429/5xx/network errors with bounded exponential backoff; mutating
    calls are sent exactly once, and an uncertain outcome is reported as an exception with
    ``outcome_unknown=True`` so the caller re-reads (GetTicket) instead of re-posting.
    ``tz`` is the WHMCS server's zone: its zone-less dates are read in it and returned in UTC.
    """

    def __init__(
        self,
        base_url: str,
        identifier: str | None = None,
        secret: str | SecretStr | None = None,
        *,
        accesskey: str | SecretStr | None = None,
        legacy_username: str | None = None,
        legacy_password: str | SecretStr | None = None,
        legacy_password_md5: str | SecretStr | None = None,
        timeout: float = 20.0,
        tz: tzinfo = UTC,
        transport: httpx.AsyncBaseTransport | None = None,
        max_read_retries: int = 2,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        verify: bool = True,
    ) -> None:
        self._endpoint = api_endpoint(base_url)
        parts = urlsplit(self._endpoint)
        self._where = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        secret_value = _reveal(secret)
        legacy_value = _reveal(legacy_password)
        # A stored MD5 (what the API wants) stands in for the password: it cannot log in to WHMCS itself.
        legacy_md5 = _reveal(legacy_password_md5).strip().lower()
        if legacy_username and legacy_md5 and not (identifier or secret_value or legacy_value):
            self._auth = {"username": legacy_username, "password": legacy_md5}
            self.legacy_auth = True
        elif identifier and secret_value and not (legacy_username or legacy_value):
            self._auth = {"identifier": identifier, "secret": secret_value}
            self.legacy_auth = False
        elif legacy_username and legacy_value and not (identifier or secret_value):
            digest = hashlib.md5(legacy_value.encode(), usedforsecurity=False).hexdigest()
            self._auth = {"username": legacy_username, "password": digest}
            self.legacy_auth = True
        else:
            raise ValueError(
                "give either an API identifier and secret, or a legacy admin username and password"
            )
        access = _reveal(accesskey)
        if access:
            self._auth["accesskey"] = access
        # The identifier and username are not secret on their own but are never logged either.
        hidden = [v for k, v in self._auth.items() if k in {"secret", "password", "accesskey"}]
        hidden += [secret_value, legacy_value, legacy_md5]
        # Very short values would mangle messages; a secret that short is hopeless anyway.
        self._redact = tuple(sorted({v for v in hidden if len(v) >= 4}, key=len, reverse=True))
        self.timeout = timeout
        self.tz = tz
        self.max_read_retries = max(0, max_read_retries)
        self.backoff_base = max(0.0, backoff_base)
        self.backoff_max = max(0.0, backoff_max)
        self._http = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            verify=verify,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "Answerdesk-WHMCS/1"},
        )

    def __repr__(self) -> str:
        mode = "legacy" if self.legacy_auth else "api_credentials"
        return f"WhmcsClient(endpoint={self._endpoint!r}, auth={mode!r})"

    @property
    def endpoint(self) -> str:
        return self._endpoint

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> WhmcsClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- typed actions -------------------------------------------------------------------

    async def get_tickets(
        self,
        *,
        status: str | None = None,
        deptid: int | None = None,
        clientid: int | None = None,
        email: str | None = None,
        subject: str | None = None,
        ignore_dept_assignments: bool | None = None,
        limitstart: int = 0,
        limitnum: int = 25,
    ) -> WhmcsTicketPage:
        """One page of GetTickets (rows carry no message body; see :meth:`get_ticket`)."""
        data = await self.call(
            "GetTickets",
            {
                "status": status,
                "deptid": deptid,
                "clientid": clientid,
                "email": email,
                "subject": subject,
                "ignore_dept_assignments": ignore_dept_assignments,
                "limitstart": limitstart,
                "limitnum": limitnum,
            },
        )
        return self._parse("GetTickets", WhmcsTicketPage, data)

    async def iter_tickets(
        self,
        *,
        status: str | None = None,
        deptid: int | None = None,
        clientid: int | None = None,
        email: str | None = None,
        subject: str | None = None,
        ignore_dept_assignments: bool | None = None,
        limitnum: int = 25,
    ) -> AsyncIterator[WhmcsTicketSummary]:
        """Every ticket matching the filters, page by page.

        Stops when a page returns nothing or ``start + returned >= total``. Tickets that move
        between pages while we read (new activity re-sorts the list) are yielded once.
        """
        offset = 0
        seen: set[int] = set()
        while True:
            page = await self.get_tickets(
                status=status,
                deptid=deptid,
                clientid=clientid,
                email=email,
                subject=subject,
                ignore_dept_assignments=ignore_dept_assignments,
                limitstart=offset,
                limitnum=limitnum,
            )
            for ticket in page.tickets:
                if ticket.id not in seen:
                    seen.add(ticket.id)
                    yield ticket
            # Our own offset, not the echoed startnumber: a server echoing 0 must not loop us forever.
            if page.returned <= 0 or not page.tickets or offset + page.returned >= page.total:
                return
            offset += page.returned

    async def get_ticket(self, ticket_id: int, *, replies_sort: RepliesSort = "ASC") -> WhmcsTicket:
        """GetTicket with its thread; ``replies[0]`` is the opening message with the default sort."""
        data = await self.call("GetTicket", {"ticketid": ticket_id, "repliessort": replies_sort})
        return self._parse("GetTicket", WhmcsTicket, data)

    async def get_ticket_by_number(self, tid: str, *, replies_sort: RepliesSort = "ASC") -> WhmcsTicket:
        """GetTicket by the customer-facing number (``tid``)."""
        data = await self.call("GetTicket", {"ticketnum": tid, "repliessort": replies_sort})
        return self._parse("GetTicket", WhmcsTicket, data)

    async def get_support_departments(
        self, *, ignore_dept_assignments: bool | None = None
    ) -> list[WhmcsDepartment]:
        data = await self.call("GetSupportDepartments", {"ignore_dept_assignments": ignore_dept_assignments})
        return self._parse_list(
            "GetSupportDepartments", WhmcsDepartment, data.get("departments"), "department"
        )

    async def get_support_statuses(self, *, deptid: int | None = None) -> list[WhmcsStatus]:
        data = await self.call("GetSupportStatuses", {"deptid": deptid})
        return self._parse_list("GetSupportStatuses", WhmcsStatus, data.get("statuses"), "status")

    async def get_clients_details(self, client_id: int, *, stats: bool = True) -> WhmcsClientDetails:
        """The ticket's client (``ticket.user_id``), reduced to prompt-relevant fields."""
        data = await self.call("GetClientsDetails", {"clientid": client_id, "stats": stats})
        client = data.get("client")
        # Old versions only have the (now deprecated) copy of the fields at the top level.
        fields: Mapping[str, Any] = client if isinstance(client, Mapping) and client else data
        stats_data = data.get("stats") if stats else None
        payload = {**fields, "stats": stats_data if isinstance(stats_data, Mapping) else None}
        return self._parse("GetClientsDetails", WhmcsClientDetails, payload)

    async def get_admin_details(self) -> WhmcsAdmin:
        """The admin behind the credentials; the cheapest authenticated call."""
        data = await self.call("GetAdminDetails")
        return self._parse("GetAdminDetails", WhmcsAdmin, data)

    async def add_ticket_reply(
        self,
        ticket_id: int,
        message: str,
        admin_username: str,
        *,
        markdown: bool,
        status: str | None = None,
        noemail: bool | None = None,
    ) -> None:
        """Post a staff reply, attributed to ``admin_username``. Sent once, never retried.

        WHMCS returns no reply id; on ``outcome_unknown`` re-read the ticket before retrying.
        """
        await self.call(
            "AddTicketReply",
            {
                "ticketid": ticket_id,
                "message": message,
                "adminusername": admin_username,
                "markdown": markdown,
                "status": status,
                "noemail": noemail,
            },
        )

    async def add_ticket_note(
        self, ticket_id: int, message: str, *, markdown: bool = False, admin_username: str | None = None
    ) -> None:
        """An internal note (never shown to the customer). Sent once, never retried.

        WHMCS returns no note id; on ``outcome_unknown`` re-read the ticket before retrying. The API
        reference lists no ``adminusername`` for this action (WHMCS attributes the note to the API
        credential's admin); it is sent anyway so that a version honouring it names the author.
        """
        await self.call(
            "AddTicketNote",
            {
                "ticketid": ticket_id,
                "message": message,
                "markdown": markdown,
                "adminusername": admin_username,
            },
        )

    async def update_ticket(
        self,
        ticket_id: int,
        *,
        deptid: int | None = None,
        status: str | None = None,
        priority: Priority | None = None,
        flag: int | None = None,
        remove_flag: bool = False,
        subject: str | None = None,
    ) -> None:
        """Move, re-prioritise, flag (admin id) or change the status of a ticket."""
        params: dict[str, ParamValue] = {
            "ticketid": ticket_id,
            "deptid": deptid,
            "status": status,
            "priority": priority,
            "flag": flag,
            "removeFlag": True if remove_flag else None,
            "subject": subject,
        }
        if all(value is None for key, value in params.items() if key != "ticketid"):
            raise ValueError("update_ticket needs at least one field to change")
        await self.call("UpdateTicket", params)

    async def open_ticket(
        self,
        *,
        deptid: int,
        subject: str,
        message: str,
        clientid: int | None = None,
        contactid: int | None = None,
        name: str | None = None,
        email: str | None = None,
        priority: Priority | None = None,
        markdown: bool = False,
        admin: bool = False,
        noemail: bool | None = None,
        serviceid: int | None = None,
        domainid: int | None = None,
    ) -> WhmcsOpenedTicket:
        """Open a ticket (e.g. escalate a chat): for a client (``clientid``) or a guest (name+email)."""
        data = await self.call(
            "OpenTicket",
            {
                "deptid": deptid,
                "subject": subject,
                "message": message,
                "clientid": clientid,
                "contactid": contactid,
                "name": name,
                "email": email,
                "priority": priority,
                "markdown": markdown,
                "admin": True if admin else None,
                "noemail": noemail,
                "serviceid": serviceid,
                "domainid": domainid,
            },
        )
        return self._parse("OpenTicket", WhmcsOpenedTicket, data)

    async def test_connection(self, *, probe_write_actions: bool = True) -> WhmcsConnectionCheck:
        """For the admin "Test connection" button; never raises for WHMCS-side problems."""
        return await check_connection(self, probe_write_actions=probe_write_actions)

    # -- transport -----------------------------------------------------------------------

    async def call(
        self,
        action: str,
        params: Mapping[str, ParamValue] | None = None,
        *,
        read_only: bool | None = None,
    ) -> dict[str, Any]:
        """Send one action and return the decoded success body, or raise a :class:`WhmcsError`.

        ``read_only`` defaults to whether ``action`` is a known read; only reads are retried.
        """
        try:
            result = await self._call(action, params, read_only)
        except WhmcsError as exc:
            metrics.WHMCS_CALLS.labels(action, type(exc).__name__).inc()
            raise
        metrics.WHMCS_CALLS.labels(action, "ok").inc()
        return result

    async def _call(
        self, action: str, params: Mapping[str, ParamValue] | None, read_only: bool | None
    ) -> dict[str, Any]:
        read = is_read_action(action) if read_only is None else read_only
        fields = {**encode_params(params or {}), "action": action, "responsetype": "json", **self._auth}
        attempts = 1 + (self.max_read_retries if read else 0)
        for attempt in range(1, attempts + 1):
            started = time.monotonic()
            retry_after: float | None = None
            try:
                response = await self._http.post(self._endpoint, data=fields)
            except httpx.TimeoutException as exc:
                # Connect/pool timeouts happen before anything was sent: the outcome is known.
                sent = not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
                error: WhmcsError = self._timeout_error(action, unknown=sent and not read)
            except httpx.TransportError as exc:
                sent = not isinstance(exc, httpx.ConnectError)
                error = WhmcsUnavailable(
                    f"WHMCS at {self._where} could not be reached for {action} ({type(exc).__name__})"
                    + (_UNKNOWN_SUFFIX if sent and not read else ""),
                    action=action,
                    outcome_unknown=sent and not read,
                )
            else:
                elapsed_ms = round((time.monotonic() - started) * 1000)
                log.debug(
                    "whmcs.call", action=action, status=response.status_code, ms=elapsed_ms, attempt=attempt
                )
                if response.status_code != 429 and response.status_code < 500:
                    return self._interpret(action, response, read=read)
                retry_after = _retry_after(response)
                error = self._status_error(action, response, read=read)
            if attempt >= attempts:
                raise error
            delay = self._backoff(attempt, retry_after)
            log.warning(
                "whmcs.retry", action=action, attempt=attempt, reason=type(error).__name__, delay=delay
            )
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        delay: float = min(self.backoff_max, self.backoff_base * 2.0 ** (attempt - 1))
        delay *= random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_max))
        return delay

    def _timeout_error(self, action: str, *, unknown: bool) -> WhmcsTimeout:
        message = f"WHMCS at {self._where} did not answer {action} within {self.timeout:g}s"
        return WhmcsTimeout(
            message + (_UNKNOWN_SUFFIX if unknown else ""), action=action, outcome_unknown=unknown
        )

    def _status_error(self, action: str, response: httpx.Response, *, read: bool) -> WhmcsUnavailable:
        status = response.status_code
        if status == 429:
            return WhmcsUnavailable(
                f"WHMCS at {self._where} is rate limiting {action} (HTTP 429)",
                status_code=status,
                action=action,
            )
        unknown = not read
        return WhmcsUnavailable(
            f"WHMCS at {self._where} failed on {action} (HTTP {status}{_body_kind(response)})"
            + (_UNKNOWN_SUFFIX if unknown else ""),
            status_code=status,
            action=action,
            outcome_unknown=unknown,
        )

    def _interpret(self, action: str, response: httpx.Response, *, read: bool) -> dict[str, Any]:
        status = response.status_code
        if 300 <= status < 400:
            target = response.headers.get("location", "another address")
            raise WhmcsUnavailable(
                f"WHMCS at {self._where} redirected {action} to {self._scrub(target)}; use that URL instead",
                status_code=status,
                action=action,
            )
        text = response.text.lstrip("\ufeff \t\r\n")
        data = _decode_json(text)
        if data is _NOT_JSON:
            if text.startswith("<"):
                raise self._html_error(action, status, read=read)
            raise WhmcsBadResponse(
                f"WHMCS at {self._where} answered {action} with malformed JSON (HTTP {status})"
                + (_UNKNOWN_SUFFIX if not read and status < 400 else ""),
                action=action,
                outcome_unknown=not read and status < 400,
            )
        if not isinstance(data, dict):
            raise WhmcsBadResponse(
                f"WHMCS at {self._where} answered {action} with JSON that is not an object", action=action
            )
        result = to_str(data.get("result", data.get("status", ""))).strip().lower()
        if result == "error" or status >= 400:
            raise self._error_from_body(action, status, self._scrub(to_str(data.get("message", ""))))
        if result == "success":
            return data
        raise WhmcsBadResponse(
            f"WHMCS at {self._where} answered {action} without a result field", action=action
        )

    def _html_error(self, action: str, status: int, *, read: bool) -> WhmcsError:
        if status == 403:
            return WhmcsAuthError(
                f"WHMCS at {self._where} refused {action} with an HTML page (HTTP 403)",
                explanation=(
                    "A web server or firewall in front of WHMCS blocked the request before it reached "
                    "the API. Check the server's access rules for includes/api.php."
                ),
                action=action,
            )
        if status == 404:
            return WhmcsUnavailable(
                f"No WHMCS API at {self._endpoint} (HTTP 404); check the WHMCS URL",
                status_code=status,
                action=action,
            )
        unknown = not read and status < 400
        return WhmcsUnavailable(
            f"WHMCS at {self._where} answered {action} with an HTML page instead of JSON (HTTP {status})"
            + (_UNKNOWN_SUFFIX if unknown else ""),
            status_code=status,
            action=action,
            outcome_unknown=unknown,
        )

    def _error_from_body(self, action: str, status: int, whmcs_message: str) -> WhmcsError:
        if whmcs_message.strip().lower() == "command not found":
            return WhmcsCommandNotFound(
                f"WHMCS does not know the API action {action} (Command Not Found); "
                "the WHMCS version may be too old",
                action=action,
            )
        # Older versions send these with HTTP 200, so classify by message before status.
        auth = auth_error_from_message(
            whmcs_message, action=canonical_action(action), legacy=self.legacy_auth
        )
        if auth is not None:
            return auth
        if status == 403:
            return WhmcsAuthError(
                f"WHMCS refused {action} (HTTP 403): {whmcs_message or 'no message'}",
                explanation=(
                    "WHMCS refused the API call. Check that the admin user behind these credentials "
                    'has the "API Access" permission.'
                ),
                whmcs_message=whmcs_message,
                action=action,
            )
        if status >= 400:
            return WhmcsUnavailable(
                f"WHMCS at {self._where} failed on {action} (HTTP {status}): {whmcs_message or 'no message'}",
                status_code=status,
                action=action,
            )
        return WhmcsApiError(
            f"WHMCS {action} failed: {whmcs_message or 'no message'}",
            whmcs_message=whmcs_message,
            action=action,
        )

    def _scrub(self, text: str) -> str:
        for value in self._redact:
            text = text.replace(value, "***")
        return text

    def _parse(self, action: str, model: type[ModelT], data: Mapping[str, Any]) -> ModelT:
        try:
            return model.model_validate(data, context={"tz": self.tz})
        except ValidationError as exc:
            raise self._shape_error(action, model, exc) from None

    def _parse_list(self, action: str, model: type[ModelT], wrapper: Any, key: str) -> list[ModelT]:
        items = [item for item in unwrap_list(wrapper, key) if isinstance(item, Mapping)]
        try:
            return [model.model_validate(item, context={"tz": self.tz}) for item in items]
        except ValidationError as exc:
            raise self._shape_error(action, model, exc) from None

    def _shape_error(self, action: str, model: type[BaseModel], exc: ValidationError) -> WhmcsBadResponse:
        # Field locations only: the input values are customer data.
        where = ", ".join(".".join(str(p) for p in err["loc"]) or "(root)" for err in exc.errors()[:5])
        return WhmcsBadResponse(
            f"WHMCS {action} returned an unexpected shape for {model.__name__} at {where}", action=action
        )


_UNKNOWN_SUFFIX = "; the change may or may not have been applied, re-read before retrying"


def _reveal(value: str | SecretStr | None) -> str:
    if value is None:
        return ""
    return value.get_secret_value() if isinstance(value, SecretStr) else value


_NOT_JSON = object()
_JSON = json.JSONDecoder()


def _decode_json(text: str) -> Any:
    """The JSON body, tolerating PHP notices/warnings that WHMCS sometimes prints before it."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    start = text.find('{"result"')
    if start > 0:
        with contextlib.suppress(ValueError):
            return _JSON.raw_decode(text, start)[0]
    return _NOT_JSON


def _looks_like_html(response: httpx.Response) -> bool:
    # Sniff the body, not the header: PHP often labels JSON as text/html.
    return response.content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _body_kind(response: httpx.Response) -> str:
    return ", HTML page" if _looks_like_html(response) else ""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
