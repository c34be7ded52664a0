"""A WHMCS-compatible loopback server (includes/api.php) with in-memory data and fault injection.

Follows /work/shared/reference/whmcs-api.md. Typical use::

    fake = FakeWhmcs()                        # default statuses, admin 1, one API credential
    dept = fake.add_department("Support")
    client = fake.add_client("Ada", "Lovelace")
    ticket = fake.add_ticket("Cannot log in", "Help!", client=client.id, deptid=dept.id)
    fake.add_tickets(5000)                    # bulk seed, O(n), no HTTP
    fake.faults.next("AddTicketReply", "timeout_after_commit", seconds=5)
    with serve_fake_whmcs(fake) as server:    # uvicorn on 127.0.0.1, free port, background thread
        WhmcsClient(server.base_url, DEFAULT_IDENTIFIER, DEFAULT_SECRET, ...)
    fake.calls("AddTicketReply")              # request log: action + params minus credentials

Check order per request (mirrors WHMCS): IP allow-list (skipped when ``accesskey`` matches),
credentials, action exists (``Command Not Found``), API-role whitelist. Auth failures answer
HTTP 403 with the usual ``{"result": "error", "message": ...}`` body; other errors HTTP 200.
GetTickets lists by ``lastreply`` descending, then id descending.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import socket
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

DEFAULT_IDENTIFIER = "fake-api-identifier"
DEFAULT_SECRET = "fake-api-secret-9f2c"
DEFAULT_ADMIN_USERNAME = "apiadmin"
DEFAULT_ADMIN_PASSWORD = "fake-admin-password"
DEFAULT_ADMIN_ID = 1

ListShape = Literal[
    "list", "empty_array", "empty_object", "empty_string", "missing", "numeric_keys", "single_object"
]
"""How wrapped lists are rendered.

``list``: ``{"ticket": [...]}`` always. ``empty_array``/``empty_object``/``empty_string``/``missing``:
an empty list becomes ``[]``/``{}``/``""``/no key (non-empty lists stay normal). ``numeric_keys``:
``{"ticket": {"0": ..., "1": ...}}`` (empty: ``{"ticket": {}}``). ``single_object``: one item is
sent as ``{"ticket": {...}}``.
"""
LIST_SHAPES: tuple[ListShape, ...] = (
    "list",
    "empty_array",
    "empty_object",
    "empty_string",
    "missing",
    "numeric_keys",
    "single_object",
)
EMPTY_SHAPES: tuple[ListShape, ...] = (
    "list",
    "empty_array",
    "empty_object",
    "empty_string",
    "missing",
    "numeric_keys",
)

FaultKind = Literal[
    "timeout_after_commit",
    "timeout_before_commit",
    "slow",
    "html_500",
    "malformed_json",
    "http_status",
    "php_notice",
]
"""``timeout_after_commit``: run the action, then hold the answer ``seconds`` (the client times out
but the change is stored). ``timeout_before_commit``: hold the answer ``seconds`` and never run the
action (the request died before WHMCS stored anything). ``slow``: wait ``seconds`` then run
normally. ``html_500``: an HTML error page with HTTP 500. ``malformed_json``: HTTP 200 with broken
JSON. ``http_status``: HTTP ``status`` with an HTML body (these three skip the action unless
``commit=True``). ``php_notice``: a normal answer preceded by a PHP warning in HTML and labelled
text/html, as misconfigured servers do."""

DEFAULT_STATUSES: tuple[tuple[str, str, bool, bool], ...] = (
    # title, color, counts as active, counts as awaiting reply (WHMCS defaults)
    ("Open", "#779500", True, True),
    ("Answered", "#000000", True, False),
    ("Customer-Reply", "#ff6600", True, True),
    ("Closed", "#888888", False, False),
    ("On Hold", "#224488", True, False),
    ("In Progress", "#cc0000", True, False),
)
PRIORITIES = ("Low", "Medium", "High")
_SECRET_PARAMS = frozenset({"identifier", "secret", "username", "password", "accesskey"})
_HIDDEN_PARAMS = _SECRET_PARAMS | {"action", "responsetype"}
_FORBIDDEN = 403


@dataclass
class FakeDepartment:
    id: int
    name: str
    email: str = ""


@dataclass
class FakeStatus:
    title: str
    color: str = "#888888"
    show_active: bool = True
    show_awaiting: bool = False


@dataclass
class FakeClient:
    id: int
    firstname: str
    lastname: str
    email: str
    companyname: str = ""
    status: str = "Active"
    language: str = ""
    countrycode: str = "US"
    currency_code: str = "USD"
    active_products: int = 0
    active_domains: int = 0
    overdue_invoices: int = 0
    users: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FakeReply:
    """A thread entry; id 0 is the opening message."""

    id: int
    date: datetime
    message: str
    admin: str = ""
    userid: int = 0
    contactid: int = 0
    name: str = ""
    email: str = ""
    rating: int = 0
    markdown: bool = False


@dataclass
class FakeNote:
    id: int
    date: datetime
    message: str
    admin: str = ""
    markdown: bool = False


@dataclass
class FakeTicket:
    id: int
    tid: str
    c: str
    deptid: int
    userid: int
    name: str
    email: str
    date: datetime
    subject: str
    status: str
    priority: str
    lastreply: datetime
    flag: int = 0
    service: str = ""
    cc: str = ""
    admin: str = ""
    replies: list[FakeReply] = field(default_factory=list)
    notes: list[FakeNote] = field(default_factory=list)

    @property
    def staff_replies(self) -> list[FakeReply]:
        return [r for r in self.replies if r.admin]


@dataclass
class FakeAdmin:
    id: int
    username: str
    password: str
    firstname: str = "Api"
    lastname: str = "Admin"
    email: str = "apiadmin@example.test"
    # None: every department (no assignment restriction).
    department_ids: list[int] | None = None

    @property
    def name(self) -> str:
        return f"{self.firstname} {self.lastname}".strip()


@dataclass
class FakeCredential:
    identifier: str
    secret: str
    admin_id: int = DEFAULT_ADMIN_ID
    # Lowercase action names the API role allows; None allows every action.
    allowed_actions: frozenset[str] | None = None


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the fake saw it; credentials are never recorded."""

    action: str
    params: dict[str, str]
    status_code: int
    fault: str | None = None


@dataclass
class _Fault:
    kind: FaultKind
    remaining: int
    seconds: float
    status: int
    commit: bool


class FaultPlan:
    """Faults to inject into upcoming requests, per action (case-insensitive; ``"*"`` = any)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, list[_Fault]] = {}

    def next(
        self,
        action: str,
        kind: FaultKind,
        *,
        times: int = 1,
        seconds: float = 5.0,
        status: int = 500,
        commit: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``action`` fail with ``kind`` (queued after earlier plans)."""
        with self._lock:
            self._queues.setdefault(action.lower(), []).append(_Fault(kind, times, seconds, status, commit))

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()

    def pending(self, action: str) -> int:
        with self._lock:
            return sum(f.remaining for f in self._queues.get(action.lower(), []))

    def take(self, action: str) -> _Fault | None:
        with self._lock:
            for key in (action.lower(), "*"):
                queue = self._queues.get(key)
                if queue:
                    fault = queue[0]
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        queue.pop(0)
                    return fault
        return None


class WhmcsFault(Exception):
    """A ``result=error`` answer from an action handler."""

    def __init__(self, message: str, status_code: int = 200) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


@dataclass
class _Caller:
    admin: FakeAdmin
    allowed_actions: frozenset[str] | None


Handler = Callable[[dict[str, str], _Caller], dict[str, Any]]


class FakeWhmcs:
    """In-memory WHMCS: seed it with ``add_*``, point a client at :func:`serve_fake_whmcs`'s URL."""

    def __init__(
        self,
        *,
        tz: tzinfo = UTC,
        numbers_as_strings: bool = True,
        seed: int = 1,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._settings = (tz, numbers_as_strings, seed, clock)
        self.faults = FaultPlan()
        self._wake = threading.Event()
        self._generation = 0
        self._init_state()
        self.app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=["GET", "POST"])])
        self._handlers: dict[str, Handler] = {
            "gettickets": self._get_tickets,
            "getticket": self._get_ticket,
            "addticketreply": self._add_ticket_reply,
            "addticketnote": self._add_ticket_note,
            "updateticket": self._update_ticket,
            "openticket": self._open_ticket,
            "getsupportdepartments": self._get_support_departments,
            "getsupportstatuses": self._get_support_statuses,
            "getclientsdetails": self._get_clients_details,
            "getadmindetails": self._get_admin_details,
        }

    def _init_state(self) -> None:
        tz, numbers_as_strings, seed, clock = self._settings
        self.tz = tz
        self.numbers_as_strings = numbers_as_strings
        self.clock = clock or (lambda: datetime.now(self.tz).replace(tzinfo=None, microsecond=0))
        self._rng = random.Random(seed)
        # Set to simulate another caller address; None uses the real peer (127.0.0.1).
        self.caller_ip: str | None = None
        # None disables the API IP restriction; a set lists allowed IPs one by one (no CIDR).
        self.allowed_ips: set[str] | None = None
        self.access_key: str | None = None
        # None serves includes/api.php under any path; "/whmcs" serves only /whmcs/includes/api.php.
        self.path_prefix: str | None = None
        self.list_shape: ListShape = "list"
        self.list_shapes: dict[str, ListShape] = {}
        self.departments: dict[int, FakeDepartment] = {}
        self.statuses: list[FakeStatus] = [FakeStatus(*row) for row in DEFAULT_STATUSES]
        self.clients: dict[int, FakeClient] = {}
        self.tickets: dict[int, FakeTicket] = {}
        self._by_tid: dict[str, int] = {}
        self.admins: dict[int, FakeAdmin] = {}
        self.credentials: dict[str, FakeCredential] = {}
        self._requests: list[LoggedRequest] = []
        self._next_ticket_id = 1
        self._next_reply_id = 1
        self._next_note_id = 1
        self.add_admin(DEFAULT_ADMIN_USERNAME, DEFAULT_ADMIN_PASSWORD, id=DEFAULT_ADMIN_ID)
        self.add_api_credential(DEFAULT_IDENTIFIER, DEFAULT_SECRET)

    def release_parked(self) -> None:
        """Answer every request parked by a ``timeout_after_commit``/``slow`` fault now."""
        with self._lock:
            self._wake.set()
            self._wake = threading.Event()

    def reset(self) -> None:
        """Back to the constructor's state; wakes requests parked by faults."""
        with self._lock:
            self._generation += 1
            self.release_parked()
            self.faults.clear()
            self._init_state()

    # -- seeding ----------------------------------------------------------------------------

    def add_department(self, name: str = "General Support", *, id: int | None = None) -> FakeDepartment:
        with self._lock:
            dept_id = id if id is not None else max(self.departments, default=0) + 1
            dept = FakeDepartment(dept_id, name, f"{name.lower().replace(' ', '-')}@example.test")
            self.departments[dept_id] = dept
            return dept

    def add_status(
        self, title: str, *, color: str = "#888888", show_active: bool = True, show_awaiting: bool = False
    ) -> FakeStatus:
        with self._lock:
            status = FakeStatus(title, color, show_active, show_awaiting)
            self.statuses.append(status)
            return status

    def add_client(
        self,
        firstname: str = "Ada",
        lastname: str = "Lovelace",
        *,
        email: str | None = None,
        companyname: str = "",
        status: str = "Active",
        id: int | None = None,
        active_products: int = 0,
        active_domains: int = 0,
        overdue_invoices: int = 0,
    ) -> FakeClient:
        with self._lock:
            client_id = id if id is not None else max(self.clients, default=0) + 1
            mail = email or f"{firstname}.{lastname}.{client_id}@example.test".lower()
            client = FakeClient(
                client_id,
                firstname,
                lastname,
                mail,
                companyname,
                status,
                active_products=active_products,
                active_domains=active_domains,
                overdue_invoices=overdue_invoices,
                users=[{"id": client_id, "name": f"{firstname} {lastname}", "email": mail, "is_owner": True}],
            )
            self.clients[client_id] = client
            return client

    def add_admin(
        self,
        username: str,
        password: str,
        *,
        id: int | None = None,
        firstname: str = "Api",
        lastname: str = "Admin",
        department_ids: list[int] | None = None,
    ) -> FakeAdmin:
        with self._lock:
            admin_id = id if id is not None else max(self.admins, default=0) + 1
            admin = FakeAdmin(
                admin_id, username, password, firstname, lastname, f"{username}@example.test", department_ids
            )
            self.admins[admin_id] = admin
            return admin

    def add_api_credential(
        self,
        identifier: str,
        secret: str,
        *,
        admin_id: int = DEFAULT_ADMIN_ID,
        allowed_actions: Iterable[str] | None = None,
    ) -> FakeCredential:
        """An API credential bound to an admin; ``allowed_actions`` is its API role (None = all)."""
        with self._lock:
            allowed = None if allowed_actions is None else frozenset(a.lower() for a in allowed_actions)
            credential = FakeCredential(identifier, secret, admin_id, allowed)
            self.credentials[identifier] = credential
            return credential

    def set_allowed_actions(self, identifier: str, allowed_actions: Iterable[str] | None) -> None:
        with self._lock:
            self.credentials[identifier].allowed_actions = (
                None if allowed_actions is None else frozenset(a.lower() for a in allowed_actions)
            )

    def add_ticket(
        self,
        subject: str = "Help needed",
        message: str = "Hello, I need help.",
        *,
        client: int | None = None,
        name: str | None = None,
        email: str | None = None,
        deptid: int | None = None,
        status: str = "Open",
        priority: str = "Medium",
        date: datetime | None = None,
        flag: int = 0,
        service: str = "",
        id: int | None = None,
    ) -> FakeTicket:
        """A ticket whose opening message becomes reply 0. ``client`` is a client id (else a guest)."""
        with self._lock:
            return self._create_ticket(
                subject=subject,
                message=message,
                client=client,
                name=name,
                email=email,
                deptid=deptid if deptid is not None else self._default_department().id,
                status=status,
                priority=priority,
                date=date or self.clock(),
                flag=flag,
                service=service,
                id=id,
            )

    def add_tickets(
        self,
        count: int,
        *,
        deptid: int | None = None,
        status: str = "Open",
        client: int | None = None,
        replies_per_ticket: int = 0,
        start: datetime | None = None,
        step: timedelta = timedelta(minutes=1),
        subject_prefix: str = "Ticket",
    ) -> list[FakeTicket]:
        """Bulk seed (cheap: no HTTP, O(count)). Ticket i is dated ``start + i * step``; replies
        alternate staff/customer, one ``step / (replies + 1)`` apart."""
        with self._lock:
            dept = deptid if deptid is not None else self._default_department().id
            base = start or (self.clock() - step * (count + 1))
            created: list[FakeTicket] = []
            for i in range(count):
                when = base + step * i
                ticket = self._create_ticket(
                    subject=f"{subject_prefix} {i + 1}",
                    message=f"Opening message of {subject_prefix.lower()} {i + 1}.\r\nPlease help.",
                    client=client,
                    name=None,
                    email=None,
                    deptid=dept,
                    status=status,
                    priority=PRIORITIES[i % 3],
                    date=when,
                    flag=0,
                    service="",
                    id=None,
                )
                gap = step / (replies_per_ticket + 1)
                for r in range(replies_per_ticket):
                    staff = r % 2 == 0
                    self._append_reply(
                        ticket,
                        f"{'Staff' if staff else 'Customer'} reply {r + 1}",
                        admin="Support Staff" if staff else "",
                        date=when + gap * (r + 1),
                        markdown=False,
                    )
                ticket.status = status
                created.append(ticket)
            return created

    def add_reply(
        self,
        ticket_id: int,
        message: str,
        *,
        admin: str = "",
        date: datetime | None = None,
        status: str | None = None,
    ) -> FakeReply:
        """A thread reply; a non-empty ``admin`` makes it staff-written."""
        with self._lock:
            ticket = self.tickets[ticket_id]
            reply = self._append_reply(
                ticket, message, admin=admin, date=date or self.clock(), markdown=False
            )
            if status is not None:
                ticket.status = status
            return reply

    def add_note(
        self, ticket_id: int, message: str, *, admin: str = "Api Admin", date: datetime | None = None
    ) -> FakeNote:
        with self._lock:
            note = FakeNote(self._next_note_id, date or self.clock(), message, admin)
            self._next_note_id += 1
            self.tickets[ticket_id].notes.append(note)
            return note

    # -- inspection -------------------------------------------------------------------------

    def ticket(self, ticket_id: int) -> FakeTicket:
        with self._lock:
            return self.tickets[ticket_id]

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._requests)

    def calls(self, action: str) -> list[LoggedRequest]:
        """Logged requests of one action (case-insensitive)."""
        return [r for r in self.requests if r.action.lower() == action.lower()]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- HTTP -------------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        expected = f"{(self.path_prefix or '').rstrip('/')}/includes/api.php"
        path = request.url.path.rstrip("/")
        if not (path == expected if self.path_prefix is not None else path.endswith("/includes/api.php")):
            return HTMLResponse("<html><body><h1>404 Not Found</h1></body></html>", status_code=404)
        body = (await request.body()).decode("utf-8", "replace")
        params = dict(parse_qsl(body, keep_blank_values=True))
        if request.method != "POST":
            params = dict(request.query_params)
        action = params.get("action", "")
        generation = self._generation
        fault = self.faults.take(action) if action else None
        kind = fault.kind if fault is not None else None
        if fault is not None and fault.kind == "slow":
            await self._pause(fault.seconds)
        if fault is not None and fault.kind == "timeout_before_commit":
            await self._pause(fault.seconds)
            self._log(action, params, 503, kind, generation)
            return HTMLResponse(_HTML_ERROR, status_code=503)
        broken = fault is not None and fault.kind in ("html_500", "malformed_json", "http_status")
        if fault is not None and broken and not fault.commit:
            self._log(
                action, params, fault.status if fault.kind != "malformed_json" else 200, kind, generation
            )
            return _fault_response(fault)
        peer = request.client.host if request.client else "127.0.0.1"
        outcome = self._dispatch(params, self.caller_ip or peer, kind, generation)
        if outcome is None:
            # Parked across a reset(): the test that parked it is over; touch nothing.
            return HTMLResponse(_HTML_ERROR, status_code=503)
        if fault is not None and broken:
            return _fault_response(fault)
        if fault is not None and fault.kind == "timeout_after_commit":
            await self._pause(fault.seconds)
        if params.get("responsetype", "").lower() != "json":
            return PlainTextResponse("result=error;message=Only responsetype=json is implemented", 200)
        status_code, payload = outcome
        if kind == "php_notice":
            return Response(_PHP_NOTICE + json.dumps(payload), status_code, media_type="text/html")
        return JSONResponse(payload, status_code=status_code)

    async def _pause(self, seconds: float) -> None:
        # Waits on an event so reset() and server shutdown release parked requests at once.
        await asyncio.to_thread(self._wake.wait, seconds)

    def _log(
        self, action: str, params: dict[str, str], status_code: int, fault: str | None, generation: int
    ) -> None:
        visible = {k: v for k, v in params.items() if k not in _HIDDEN_PARAMS}
        with self._lock:
            if generation == self._generation:
                self._requests.append(LoggedRequest(action, visible, status_code, fault))

    def _dispatch(
        self, params: dict[str, str], ip: str, fault: str | None, generation: int
    ) -> tuple[int, dict[str, Any]] | None:
        action = params.get("action", "")
        with self._lock:
            if generation != self._generation:
                return None
            try:
                caller = self._authenticate(params, ip)
                handler = self._handlers.get(action.lower())
                if handler is None:
                    raise WhmcsFault("Command Not Found")
                if caller.allowed_actions is not None and action.lower() not in caller.allowed_actions:
                    raise WhmcsFault(f'Invalid Permissions: API action "{action}" is not allowed', _FORBIDDEN)
                status_code, payload = 200, {"result": "success", **handler(params, caller)}
            except WhmcsFault as exc:
                status_code, payload = exc.status_code, {"result": "error", "message": exc.message}
            self._log(action, params, status_code, fault, generation)
            return status_code, payload

    def _authenticate(self, params: dict[str, str], ip: str) -> _Caller:
        key = params.get("accesskey")
        bypass = self.access_key is not None and key == self.access_key
        if self.allowed_ips is not None and ip not in self.allowed_ips and not bypass:
            raise WhmcsFault(f"Invalid IP {ip}", _FORBIDDEN)
        identifier, secret = params.get("identifier", ""), params.get("secret", "")
        username, password = params.get("username", ""), params.get("password", "")
        if not identifier and username in self.credentials:
            identifier, secret = username, password  # the pair may travel as username/password
        if identifier:
            credential = self.credentials.get(identifier)
            if credential is None:
                raise WhmcsFault("Invalid or missing credentials", _FORBIDDEN)
            if not secret or secret != credential.secret:
                raise WhmcsFault("Authentication Failed", _FORBIDDEN)
            return _Caller(self.admins[credential.admin_id], credential.allowed_actions)
        if username:
            admin = next((a for a in self.admins.values() if a.username == username), None)
            expected = (
                hashlib.md5(admin.password.encode(), usedforsecurity=False).hexdigest() if admin else None
            )
            if admin is None or password.lower() != expected:
                raise WhmcsFault("Authentication Failed", _FORBIDDEN)
            return _Caller(admin, None)
        raise WhmcsFault("Invalid or missing credentials", _FORBIDDEN)

    # -- rendering helpers ------------------------------------------------------------------

    def _n(self, value: int) -> int | str:
        return str(value) if self.numbers_as_strings else value

    def _put_list(self, out: dict[str, Any], wrapper: str, key: str, items: list[dict[str, Any]]) -> None:
        shape = self.list_shapes.get(wrapper, self.list_shape)
        if not items:
            empty: dict[ListShape, Any] = {
                "empty_array": [],
                "empty_object": {},
                "empty_string": "",
                "numeric_keys": {key: {}},
            }
            if shape != "missing":
                out[wrapper] = empty.get(shape, {key: []})
            return
        if shape == "numeric_keys":
            out[wrapper] = {key: {str(i): item for i, item in enumerate(items)}}
        elif shape == "single_object" and len(items) == 1:
            out[wrapper] = {key: items[0]}
        else:
            out[wrapper] = {key: items}

    def _fmt(self, when: datetime) -> str:
        return when.strftime("%Y-%m-%d %H:%M:%S")

    def _ticket_row(self, t: FakeTicket) -> dict[str, Any]:
        client = self.clients.get(t.userid)
        requestor_type = "Owner" if client else "Guest"
        return {
            "id": self._n(t.id),
            "tid": t.tid,
            "deptid": self._n(t.deptid),
            "userid": self._n(t.userid),
            "name": t.name,
            "owner_name": t.name if client else "",
            "email": t.email,
            "requestor_name": t.name,
            "requestor_email": t.email,
            "requestor_type": requestor_type,
            "cc": t.cc,
            "c": t.c,
            "date": self._fmt(t.date),
            "subject": t.subject,
            "status": t.status,
            "priority": t.priority,
            "admin": t.admin,
            "attachment": "",
            "attachments": [],
            "attachments_removed": False,
            "lastreply": self._fmt(t.lastreply),
            "flag": self._n(t.flag),
            "service": t.service,
        }

    def _reply_row(self, t: FakeTicket, r: FakeReply) -> dict[str, Any]:
        return {
            "replyid": self._n(r.id),
            "userid": self._n(r.userid),
            "contactid": self._n(r.contactid),
            "name": r.name,
            "email": r.email,
            "requestor_name": r.admin or r.name,
            "requestor_email": "" if r.admin else r.email,
            "requestor_type": "Operator" if r.admin else ("Owner" if r.userid else "Guest"),
            "date": self._fmt(r.date),
            "message": r.message,
            "attachment": "",
            "attachments": [],
            "attachments_removed": False,
            "admin": r.admin,
            "rating": self._n(r.rating),
        }

    # -- internals --------------------------------------------------------------------------

    def _default_department(self) -> FakeDepartment:
        if not self.departments:
            return self.add_department()
        return self.departments[min(self.departments)]

    def _new_tid(self) -> str:
        while True:
            tid = str(self._rng.randint(100000, 999999))
            if tid not in self._by_tid:
                return tid

    def _create_ticket(
        self,
        *,
        subject: str,
        message: str,
        client: int | None,
        name: str | None,
        email: str | None,
        deptid: int,
        status: str,
        priority: str,
        date: datetime,
        flag: int,
        service: str,
        id: int | None,
        opener_admin: str = "",
        markdown: bool = False,
    ) -> FakeTicket:
        owner = self.clients.get(client) if client else None
        if client and owner is None:
            raise KeyError(f"no client {client}")
        ticket_id = id if id is not None else self._next_ticket_id
        self._next_ticket_id = max(self._next_ticket_id, ticket_id + 1)
        access = "".join(self._rng.choices(string.ascii_letters + string.digits, k=8))
        full_name = f"{owner.firstname} {owner.lastname}" if owner else (name or "Guest Customer")
        mail = owner.email if owner else (email or f"guest{ticket_id}@example.test")
        ticket = FakeTicket(
            id=ticket_id,
            tid=self._new_tid(),
            c=access,
            deptid=deptid,
            userid=owner.id if owner else 0,
            name=full_name,
            email=mail,
            date=date,
            subject=subject,
            status=status,
            priority=priority,
            lastreply=date,
            flag=flag,
            service=service,
        )
        opening = FakeReply(
            0,
            date,
            message,
            admin=opener_admin,
            userid=ticket.userid,
            name=full_name,
            email=mail,
            markdown=markdown,
        )
        ticket.replies.append(opening)
        self.tickets[ticket_id] = ticket
        self._by_tid[ticket.tid] = ticket_id
        return ticket

    def _append_reply(
        self, ticket: FakeTicket, message: str, *, admin: str, date: datetime, markdown: bool
    ) -> FakeReply:
        reply = FakeReply(
            self._next_reply_id,
            date,
            message,
            admin=admin,
            userid=0 if admin else ticket.userid,
            name="" if admin else ticket.name,
            email="" if admin else ticket.email,
            markdown=markdown,
        )
        self._next_reply_id += 1
        ticket.replies.append(reply)
        ticket.lastreply = max(ticket.lastreply, date)
        ticket.status = "Answered" if admin else "Customer-Reply"
        return reply

    def _find_ticket(self, params: dict[str, str], not_found: str) -> FakeTicket:
        ticket_id = _int(params.get("ticketid"))
        if not ticket_id and params.get("ticketnum"):
            ticket_id = self._by_tid.get(params["ticketnum"], 0)
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            raise WhmcsFault(not_found)
        return ticket

    def _status_titles(self) -> list[str]:
        return [s.title for s in self.statuses]

    def _parse_created(self, params: dict[str, str], future_message: str) -> datetime | None:
        raw = params.get("created", "").strip()
        if not raw:
            return None
        try:
            when = datetime.fromisoformat(raw)
        except ValueError:
            raise WhmcsFault("Invalid Date Format") from None
        if when.tzinfo is not None:
            when = when.astimezone(self.tz).replace(tzinfo=None)
        if when > self.clock():
            raise WhmcsFault(future_message)
        return when

    # -- actions ----------------------------------------------------------------------------

    def _matches_status(self, ticket: FakeTicket, wanted: str, caller: _Caller) -> bool:
        by_title = {s.title: s for s in self.statuses}
        status = by_title.get(ticket.status)
        if wanted == "Awaiting Reply":
            return status is not None and status.show_awaiting
        if wanted == "All Active Tickets":
            return status is not None and status.show_active
        if wanted == "My Flagged Tickets":
            return ticket.flag == caller.admin.id and (status is None or status.show_active)
        return ticket.status == wanted

    def _get_tickets(self, params: dict[str, str], caller: _Caller) -> dict[str, Any]:
        start = max(0, _int(params.get("limitstart")))
        limit = _int(params.get("limitnum")) or 25
        deptid, clientid = _int(params.get("deptid")), _int(params.get("clientid"))
        email, status = params.get("email", ""), params.get("status", "")
        subject = params.get("subject", "").lower()
        restrict = caller.admin.department_ids
        if _truthy(params.get("ignore_dept_assignments")):
            restrict = None
        rows = [
            t
            for t in self.tickets.values()
            if (not deptid or t.deptid == deptid)
            and (not clientid or t.userid == clientid)
            and (not email or t.email.lower() == email.lower())
            and (not status or self._matches_status(t, status, caller))
            and (not subject or subject in t.subject.lower())
            and (restrict is None or t.deptid in restrict)
        ]
        rows.sort(key=lambda t: (t.lastreply, t.id), reverse=True)
        page = rows[start : start + limit]
        out: dict[str, Any] = {
            "totalresults": self._n(len(rows)),
            "startnumber": start,
            "numreturned": len(page),
        }
        self._put_list(out, "tickets", "ticket", [self._ticket_row(t) for t in page])
        return out

    def _get_ticket(self, params: dict[str, str], caller: _Caller) -> dict[str, Any]:
        ticket = self._find_ticket(params, "Ticket ID Not Found")
        row = self._ticket_row(ticket)
        replies = sorted(ticket.replies, key=lambda r: (r.date, r.id))
        if params.get("repliessort", "ASC").upper() == "DESC":
            replies.reverse()
        out: dict[str, Any] = {
            "ticketid": row.pop("id"),
            **row,
            "deptname": self.departments[ticket.deptid].name if ticket.deptid in self.departments else "",
            "contactid": self._n(0),
        }
        self._put_list(out, "replies", "reply", [self._reply_row(ticket, r) for r in replies])
        notes: list[dict[str, Any]] = [
            {
                "noteid": self._n(n.id),
                "date": self._fmt(n.date),
                "message": n.message,
                "attachment": "",
                "attachments": [],
                "attachments_removed": False,
                "admin": n.admin,
            }
            for n in ticket.notes
        ]
        self._put_list(out, "notes", "note", notes)
        return out

    def _add_ticket_reply(self, params: dict[str, str], caller: _Caller) -> dict[str, Any]:
        ticket = self._find_ticket(params, "Ticket ID not found")
        clientid = _int(params.get("clientid"))
        if clientid and clientid not in self.clients:
            raise WhmcsFault("Client ID Not Found")
        admin = params.get("adminusername", "")
        if not admin and not clientid and not (params.get("name") and params.get("email")):
            raise WhmcsFault("Name and email address are required if not a client")
        message = params.get("message", "")
        if not message.strip():
            raise WhmcsFault("Message is required")
        status = params.get("status", "")
        if status and status not in self._status_titles():
            raise WhmcsFault("Invalid Ticket Status")
        created = self._parse_created(params, "Reply creation date cannot be in the future")
        self._append_reply(
            ticket,
            message,
            admin=admin,
            date=created or self.clock(),
            markdown=_truthy(params.get("markdown")),
        )
        if status:
            ticket.status = status
        return {}

    def _add_ticket_note(self, params: dict[str, str], caller: _Caller) -> dict[str, Any]:
        ticket = self._find_ticket(params, "Ticket ID not found")
        message = params.get("message", "")
        if not message.strip():
            raise WhmcsFault("Message is required")
        created = self._parse_created(params, "Ticket creation date cannot be in the future")
        note = FakeNote(
            self._next_note_id,
            created or self.clock(),
            message,
            caller.admin.name,
            _truthy(params.get("markdown")),
        )
        self._next_note_id += 1
        ticket.notes.append(note)
        return {}

    def _update_ticket(self, params: dict[str, str], caller: _Caller) -> dict[str, Any]:
        ticket = self._find_ticket(params, "Ticket ID Not Found")
        if "deptid" in params and _int(params["deptid"]) not in self.departments:
            raise WhmcsFault("Department ID Not Found")
        priority = params.get("priority")
        if priority is not None and priority not in PRIORITIES:
            raise WhmcsFault("Invalid Ticket Priority. Valid priorities are: Low,Medium,High")
        status = params.get("status")
        if status is not None and status not in self._status_titles():
            raise WhmcsFault(f"Invalid Ticket Status. Valid statuses are: {','.join(self._status_titles())}")
        if "deptid" in params:
            ticket.deptid = _int(params["deptid"])
        if priority is not None:
            ticket.priority = priority
        if status is not None:
            ticket.status = status
        if params.get("subject"):
            ticket.subject = params["subject"]
        if "flag" in params:
            ticket.flag = _int(params["flag"])
        if _truthy(params.get("removeFlag")):
            ticket.flag = 0
        return {"ticketid": self._n(ticket.id)}

    def _open_ticket(self, params: dict[str, str], caller: _Caller) -> dict[str, Any]:
        clientid = _int(params.get("clientid"))
        if clientid and clientid not in self.clients:
            raise WhmcsFault("Client ID Not Found")
        if not clientid and not (params.get("name") and params.get("email")):
            raise WhmcsFault("Name and email address are required if not a client")
        deptid = _int(params.get("deptid"))
        if deptid not in self.departments:
            raise WhmcsFault("Department ID not found")
        if not params.get("subject", "").strip():
            raise WhmcsFault("Subject is required")
        if not params.get("message", "").strip():
            raise WhmcsFault("Message is required")
        created = self._parse_created(params, "Ticket creation date cannot be in the future")
        priority = params.get("priority", "Medium")
        service = ""
        if _int(params.get("serviceid")):
            service = f"S{_int(params['serviceid'])}"
        elif _int(params.get("domainid")):
            service = f"D{_int(params['domainid'])}"
        ticket = self._create_ticket(
            subject=params["subject"],
            message=params["message"],
            client=clientid or None,
            name=params.get("name"),
            email=params.get("email"),
            deptid=deptid,
            status="Open",
            priority=priority if priority in PRIORITIES else "Medium",
            date=created or self.clock(),
            flag=0,
            service=service,
            id=None,
            opener_admin=caller.admin.name if _truthy(params.get("admin")) else "",
            markdown=_truthy(params.get("markdown")),
        )
        return {"id": self._n(ticket.id), "tid": ticket.tid, "c": ticket.c}

    def _get_support_departments(self, params: dict[str, str], caller: _Caller) -> dict[str, Any]:
        by_title = {s.title: s for s in self.statuses}
        restrict = None if _truthy(params.get("ignore_dept_assignments")) else caller.admin.department_ids
        rows = []
        for dept in sorted(self.departments.values(), key=lambda d: d.id):
            if restrict is not None and dept.id not in restrict:
                continue
            tickets = [t for t in self.tickets.values() if t.deptid == dept.id]
            awaiting = sum(1 for t in tickets if t.status in by_title and by_title[t.status].show_awaiting)
            active = sum(1 for t in tickets if t.status in by_title and by_title[t.status].show_active)
            rows.append(
                {
                    "id": self._n(dept.id),
                    "name": dept.name,
                    "awaitingreply": self._n(awaiting),
                    "opentickets": self._n(active),
                }
            )
        out: dict[str, Any] = {"totalresults": len(rows)}
        self._put_list(out, "departments", "department", rows)
        return out

    def _get_support_statuses(self, params: dict[str, str], caller: _Caller) -> dict[str, Any]:
        deptid = _int(params.get("deptid"))
        counts: dict[str, int] = {}
        for t in self.tickets.values():
            if not deptid or t.deptid == deptid:
                counts[t.status] = counts.get(t.status, 0) + 1
        rows = [
            {"title": s.title, "count": self._n(counts.get(s.title, 0)), "color": s.color}
            for s in self.statuses
        ]
        out: dict[str, Any] = {"totalresults": len(rows)}
        self._put_list(out, "statuses", "status", rows)
        return out

    def _get_clients_details(self, params: dict[str, str], caller: _Caller) -> dict[str, Any]:
        clientid, email = _int(params.get("clientid")), params.get("email", "")
        if not clientid and not email:
            raise WhmcsFault("Either clientid Or email Is Required")
        client = self.clients.get(clientid) if clientid else None
        if client is None and email:
            client = next((c for c in self.clients.values() if c.email.lower() == email.lower()), None)
        if client is None:
            raise WhmcsFault("Client Not Found")
        fields: dict[str, Any] = {
            "userid": self._n(client.id),
            "client_id": self._n(client.id),
            "id": self._n(client.id),
            "uuid": f"00000000-0000-4000-8000-{client.id:012d}",
            "firstname": client.firstname,
            "lastname": client.lastname,
            "fullname": f"{client.firstname} {client.lastname}",
            "companyname": client.companyname,
            "email": client.email,
            "address1": "1 Example Street",
            "countrycode": client.countrycode,
            "phonenumber": "+1.5550100",
            "status": client.status,
            "language": client.language,
            "currency_code": client.currency_code,
            "credit": "0.00",
            "groupid": self._n(0),
            "email_verified": False,
            "customfields": [],
        }
        users = [
            {"id": self._n(u["id"]), "name": u["name"], "email": u["email"], "is_owner": u["is_owner"]}
            for u in client.users
        ]
        client_block = dict(fields)
        self._put_list(client_block, "users", "user", users)
        out: dict[str, Any] = {**fields, "client": client_block}
        if _truthy(params.get("stats")):
            active_tickets = sum(
                1
                for t in self.tickets.values()
                if t.userid == client.id and any(s.title == t.status and s.show_active for s in self.statuses)
            )
            out["stats"] = {
                "numdueinvoices": self._n(client.overdue_invoices),
                "dueinvoicesbalance": "$0.00 USD",
                "numoverdueinvoices": self._n(client.overdue_invoices),
                "productsnumactive": self._n(client.active_products),
                "productsnumactivehosting": self._n(client.active_products),
                "numactivedomains": self._n(client.active_domains),
                "numactivetickets": self._n(active_tickets),
            }
        out["warnings"] = ["The top-level client fields are deprecated; use the client object."]
        return out

    def _get_admin_details(self, params: dict[str, str], caller: _Caller) -> dict[str, Any]:
        admin = caller.admin
        departments = admin.department_ids if admin.department_ids is not None else sorted(self.departments)
        return {
            "adminid": self._n(admin.id),
            "name": admin.name,
            "notes": "",
            "signature": "",
            "allowedpermissions": "Main Homepage,List Support Tickets,View Support Ticket,API Access",
            "departments": ",".join(str(d) for d in departments),
            "requesttime": self._fmt(self.clock()),
        }


def _int(value: str | None) -> int:
    try:
        return int(str(value).strip()) if value not in (None, "") else 0
    except ValueError:
        return 0


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


_HTML_ERROR = (
    "<!DOCTYPE html><html><head><title>Oops!</title></head><body><h1>Oops! Something went wrong "
    "and we couldn't process your request.</h1><p>Please go back to the previous page and try "
    "again.</p></body></html>"
)


_PHP_NOTICE = (
    '<br />\n<b>Warning</b>:  Undefined array key "tax" in <b>/var/www/whmcs/includes/'
    "functions.php</b> on line <b>42</b><br />\n"
)


def _fault_response(fault: _Fault) -> Response:
    if fault.kind == "malformed_json":
        return Response('{"result":"success","tickets":{"ticket":[{"id":"1",', media_type="application/json")
    status = 500 if fault.kind == "html_500" else fault.status
    return HTMLResponse(_HTML_ERROR, status_code=status)


@dataclass(frozen=True)
class FakeWhmcsServer:
    fake: FakeWhmcs
    base_url: str
    port: int

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/includes/api.php"


@contextlib.contextmanager
def serve_fake_whmcs(
    fake: FakeWhmcs | None = None, *, startup_timeout: float = 10.0
) -> Iterator[FakeWhmcsServer]:
    """Run ``fake`` with uvicorn on 127.0.0.1 (free port) in a daemon thread until the block ends."""
    fake = fake or FakeWhmcs()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        fake.app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fake-whmcs", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("fake WHMCS server thread died during start-up")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"fake WHMCS server not ready within {startup_timeout}s")
        time.sleep(0.01)
    try:
        yield FakeWhmcsServer(fake, f"http://127.0.0.1:{port}", port)
    finally:
        fake.release_parked()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
