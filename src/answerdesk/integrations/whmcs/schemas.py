"""Pydantic models of the WHMCS answers we use, parsed leniently from WHMCS's JSON."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)

from answerdesk.integrations.whmcs.parsing import (
    normalise_message,
    parse_whmcs_datetime,
    to_bool,
    to_csv_list,
    to_int,
    to_optional_int,
    to_str,
    unwrap_list,
)


def _datetime(value: Any, info: ValidationInfo) -> datetime | None:
    context = info.context if isinstance(info.context, Mapping) else {}
    return parse_whmcs_datetime(value, context.get("tz", UTC))


def _objects(value: Any, key: str | None) -> list[Mapping[str, Any]]:
    return [item for item in unwrap_list(value, key) if isinstance(item, Mapping)]


def _attachments(value: Any) -> list[Mapping[str, Any]]:
    return _objects(value, "attachment")


def _tickets(value: Any) -> list[Mapping[str, Any]]:
    return _objects(value, "ticket")


def _replies(value: Any) -> list[Mapping[str, Any]]:
    return _objects(value, "reply")


def _notes(value: Any) -> list[Mapping[str, Any]]:
    return _objects(value, "note")


def _departments(value: Any) -> list[Mapping[str, Any]]:
    return _objects(value, "department")


def _statuses(value: Any) -> list[Mapping[str, Any]]:
    return _objects(value, "status")


def _users(value: Any) -> list[Mapping[str, Any]]:
    return _objects(value, "user")


def _ints(value: Any) -> list[int]:
    return [to_int(part) for part in to_csv_list(value)]


LooseInt = Annotated[int, BeforeValidator(to_int)]
OptionalInt = Annotated[int | None, BeforeValidator(to_optional_int)]
LooseStr = Annotated[str, BeforeValidator(to_str)]
LooseBool = Annotated[bool, BeforeValidator(to_bool)]
# Aware datetime in the client's ``tz`` (passed as validation context); None when empty.
WhmcsDateTime = Annotated[datetime | None, BeforeValidator(_datetime)]
CsvList = Annotated[list[str], BeforeValidator(to_csv_list)]
CsvInts = Annotated[list[int], BeforeValidator(_ints)]


class WhmcsModel(BaseModel):
    """Base: immutable, ignores unknown fields, accepts both WHMCS names and ours."""

    model_config = ConfigDict(frozen=True, extra="ignore", validate_by_name=True, validate_by_alias=True)


class _WithMessage(WhmcsModel):
    message: str = ""
    message_raw: str = ""

    @model_validator(mode="before")
    @classmethod
    def _message_views(cls, data: Any) -> Any:
        # Both views come from one WHMCS field: the exact original and the plain-text form.
        if isinstance(data, Mapping) and "message_raw" not in data:
            raw = to_str(data.get("message"))
            return {**data, "message_raw": raw, "message": normalise_message(raw)}
        return data


class WhmcsAttachment(WhmcsModel):
    filename: LooseStr = ""
    index: LooseInt = 0


class WhmcsTicketSummary(WhmcsModel):
    """A row of GetTickets: no message body and no department name (see GetTicket)."""

    id: LooseInt
    tid: LooseStr = ""
    access_code: LooseStr = Field("", validation_alias=AliasChoices("c", "access_code"))
    dept_id: LooseInt = Field(0, validation_alias=AliasChoices("deptid", "dept_id"))
    user_id: LooseInt = Field(0, validation_alias=AliasChoices("userid", "user_id"))
    name: LooseStr = ""
    email: LooseStr = ""
    owner_name: LooseStr = ""
    requestor_name: LooseStr = ""
    requestor_email: LooseStr = ""
    requestor_type: LooseStr = ""
    cc: LooseStr = ""
    created_at: WhmcsDateTime = Field(None, validation_alias=AliasChoices("date", "created_at"))
    subject: LooseStr = ""
    status: LooseStr = ""
    priority: LooseStr = ""
    admin: LooseStr = ""
    last_reply_at: WhmcsDateTime = Field(None, validation_alias=AliasChoices("lastreply", "last_reply_at"))
    flag: LooseInt = 0
    service: LooseStr = ""
    attachments: Annotated[list[WhmcsAttachment], BeforeValidator(_attachments)] = []


class WhmcsTicketPage(WhmcsModel):
    """One page of GetTickets."""

    total: LooseInt = Field(0, validation_alias=AliasChoices("totalresults", "total"))
    start: LooseInt = Field(0, validation_alias=AliasChoices("startnumber", "start"))
    returned: LooseInt = Field(0, validation_alias=AliasChoices("numreturned", "returned"))
    tickets: Annotated[list[WhmcsTicketSummary], BeforeValidator(_tickets)] = []

    @model_validator(mode="before")
    @classmethod
    def _count_when_missing(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "numreturned" not in data and "returned" not in data:
            return {**data, "numreturned": len(_tickets(data.get("tickets")))}
        return data

    @property
    def is_last(self) -> bool:
        """The reference's stop rule: nothing returned, or this page reaches the total."""
        return self.returned == 0 or self.start + self.returned >= self.total


class WhmcsReply(_WithMessage):
    """A message of the thread; ``reply_id`` 0 is the opening message."""

    reply_id: LooseInt = Field(0, validation_alias=AliasChoices("replyid", "reply_id"))
    user_id: LooseInt = Field(0, validation_alias=AliasChoices("userid", "user_id"))
    contact_id: LooseInt = Field(0, validation_alias=AliasChoices("contactid", "contact_id"))
    name: LooseStr = ""
    email: LooseStr = ""
    requestor_name: LooseStr = ""
    requestor_email: LooseStr = ""
    requestor_type: LooseStr = ""
    created_at: WhmcsDateTime = Field(None, validation_alias=AliasChoices("date", "created_at"))
    admin: LooseStr = ""
    rating: LooseInt = 0
    attachments: Annotated[list[WhmcsAttachment], BeforeValidator(_attachments)] = []

    @property
    def is_staff(self) -> bool:
        """Staff-written: WHMCS fills ``admin`` with the staff member's name."""
        return bool(self.admin.strip())


class WhmcsNote(_WithMessage):
    """An internal note, never shown to the customer."""

    note_id: LooseInt = Field(0, validation_alias=AliasChoices("noteid", "note_id"))
    created_at: WhmcsDateTime = Field(None, validation_alias=AliasChoices("date", "created_at"))
    admin: LooseStr = ""
    attachments: Annotated[list[WhmcsAttachment], BeforeValidator(_attachments)] = []


class WhmcsTicket(WhmcsModel):
    """GetTicket: the ticket with its thread (replies incl. the opening message) and notes."""

    id: LooseInt = Field(validation_alias=AliasChoices("ticketid", "id"))
    tid: LooseStr = ""
    access_code: LooseStr = Field("", validation_alias=AliasChoices("c", "access_code"))
    dept_id: LooseInt = Field(0, validation_alias=AliasChoices("deptid", "dept_id"))
    dept_name: LooseStr = Field("", validation_alias=AliasChoices("deptname", "dept_name"))
    user_id: LooseInt = Field(0, validation_alias=AliasChoices("userid", "user_id"))
    contact_id: LooseInt = Field(0, validation_alias=AliasChoices("contactid", "contact_id"))
    name: LooseStr = ""
    email: LooseStr = ""
    requestor_name: LooseStr = ""
    requestor_email: LooseStr = ""
    requestor_type: LooseStr = ""
    cc: LooseStr = ""
    created_at: WhmcsDateTime = Field(None, validation_alias=AliasChoices("date", "created_at"))
    subject: LooseStr = ""
    status: LooseStr = ""
    priority: LooseStr = ""
    admin: LooseStr = ""
    last_reply_at: WhmcsDateTime = Field(None, validation_alias=AliasChoices("lastreply", "last_reply_at"))
    flag: LooseInt = 0
    service: LooseStr = ""
    replies: Annotated[list[WhmcsReply], BeforeValidator(_replies)] = []
    notes: Annotated[list[WhmcsNote], BeforeValidator(_notes)] = []

    @property
    def opening_message(self) -> WhmcsReply | None:
        """The customer's first message (``replyid`` 0, else the earliest reply)."""
        for reply in self.replies:
            if reply.reply_id == 0:
                return reply
        return min(self.replies, key=_reply_order, default=None)

    @property
    def latest_reply(self) -> WhmcsReply | None:
        """The newest message of the thread, whatever the requested sort order."""
        return max(self.replies, key=_reply_order, default=None)

    @property
    def service_id(self) -> int | None:
        """The related service (``S<id>``), if any."""
        return _prefixed_id(self.service, "S")

    @property
    def domain_id(self) -> int | None:
        """The related domain (``D<id>``), if any."""
        return _prefixed_id(self.service, "D")


def _reply_order(reply: WhmcsReply) -> tuple[datetime, int]:
    return (reply.created_at or datetime.min.replace(tzinfo=UTC), reply.reply_id)


def _prefixed_id(service: str, prefix: str) -> int | None:
    text = service.strip()
    if text[:1].upper() == prefix and text[1:].isdigit():
        return int(text[1:])
    return None


class WhmcsDepartment(WhmcsModel):
    id: LooseInt
    name: LooseStr = ""
    awaiting_reply: LooseInt = Field(0, validation_alias=AliasChoices("awaitingreply", "awaiting_reply"))
    open_tickets: LooseInt = Field(0, validation_alias=AliasChoices("opentickets", "open_tickets"))


class WhmcsStatus(WhmcsModel):
    title: LooseStr
    count: LooseInt = 0
    color: LooseStr = ""


class WhmcsClientUser(WhmcsModel):
    id: LooseInt = 0
    name: LooseStr = ""
    email: LooseStr = ""
    is_owner: LooseBool = False


class WhmcsClientStats(WhmcsModel):
    """The few GetClientsDetails ``stats`` a prompt may need (counts only)."""

    active_tickets: LooseInt = Field(0, validation_alias=AliasChoices("numactivetickets", "active_tickets"))
    active_products: LooseInt = Field(
        0, validation_alias=AliasChoices("productsnumactive", "active_products")
    )
    active_hosting: LooseInt = Field(
        0, validation_alias=AliasChoices("productsnumactivehosting", "active_hosting")
    )
    active_domains: LooseInt = Field(0, validation_alias=AliasChoices("numactivedomains", "active_domains"))
    due_invoices: LooseInt = Field(0, validation_alias=AliasChoices("numdueinvoices", "due_invoices"))
    overdue_invoices: LooseInt = Field(
        0, validation_alias=AliasChoices("numoverdueinvoices", "overdue_invoices")
    )
    due_invoices_balance: LooseStr = Field(
        "", validation_alias=AliasChoices("dueinvoicesbalance", "due_invoices_balance")
    )


class WhmcsClientDetails(WhmcsModel):
    """GetClientsDetails, reduced to what a support prompt needs (it is PII: send little)."""

    id: LooseInt = Field(validation_alias=AliasChoices("client_id", "userid", "id"))
    first_name: LooseStr = Field("", validation_alias=AliasChoices("firstname", "first_name"))
    last_name: LooseStr = Field("", validation_alias=AliasChoices("lastname", "last_name"))
    full_name: LooseStr = Field("", validation_alias=AliasChoices("fullname", "full_name"))
    company: LooseStr = Field("", validation_alias=AliasChoices("companyname", "company"))
    email: LooseStr = ""
    status: LooseStr = ""
    language: LooseStr = ""
    country_code: LooseStr = Field("", validation_alias=AliasChoices("countrycode", "country_code"))
    currency_code: LooseStr = ""
    users: Annotated[list[WhmcsClientUser], BeforeValidator(_users)] = []
    stats: WhmcsClientStats | None = None

    @property
    def display_name(self) -> str:
        return self.full_name.strip() or f"{self.first_name} {self.last_name}".strip()


class WhmcsAdmin(WhmcsModel):
    """GetAdminDetails: the admin the API credentials act as."""

    id: LooseInt = Field(0, validation_alias=AliasChoices("adminid", "id"))
    name: LooseStr = ""
    departments: CsvInts = []
    allowed_permissions: CsvList = Field(
        [], validation_alias=AliasChoices("allowedpermissions", "allowed_permissions")
    )


class WhmcsOpenedTicket(WhmcsModel):
    """OpenTicket's answer: database id, public number and client-area access code."""

    id: LooseInt
    tid: LooseStr = ""
    access_code: LooseStr = Field("", validation_alias=AliasChoices("c", "access_code"))


ConnectionFailure = Literal[
    "ip_not_allowed",
    "bad_credentials",
    "permission_denied",
    "forbidden",
    "command_not_found",
    "unavailable",
    "timeout",
    "bad_response",
    "api_error",
]


class WhmcsConnectionCheck(WhmcsModel):
    """Outcome of the admin "Test connection" button."""

    ok: bool
    failure: ConnectionFailure | None = None
    message: str
    ip: str | None = None
    action: str | None = None
    missing_actions: list[str] = []
    checked_actions: list[str] = []
    admin: WhmcsAdmin | None = None
