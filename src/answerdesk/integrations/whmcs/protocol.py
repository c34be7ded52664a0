"""The interface other domains depend on; :class:`WhmcsClient` implements it, tests may fake it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from answerdesk.integrations.whmcs.client import Priority, RepliesSort
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


class WhmcsApi(Protocol):
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
    ) -> WhmcsTicketPage: ...

    def iter_tickets(
        self,
        *,
        status: str | None = None,
        deptid: int | None = None,
        clientid: int | None = None,
        email: str | None = None,
        subject: str | None = None,
        ignore_dept_assignments: bool | None = None,
        limitnum: int = 25,
    ) -> AsyncIterator[WhmcsTicketSummary]: ...

    async def get_ticket(self, ticket_id: int, *, replies_sort: RepliesSort = "ASC") -> WhmcsTicket: ...

    async def get_support_departments(
        self, *, ignore_dept_assignments: bool | None = None
    ) -> list[WhmcsDepartment]: ...

    async def get_support_statuses(self, *, deptid: int | None = None) -> list[WhmcsStatus]: ...

    async def get_clients_details(self, client_id: int, *, stats: bool = True) -> WhmcsClientDetails: ...

    async def get_admin_details(self) -> WhmcsAdmin: ...

    async def add_ticket_reply(
        self,
        ticket_id: int,
        message: str,
        admin_username: str,
        *,
        markdown: bool,
        status: str | None = None,
        noemail: bool | None = None,
    ) -> None: ...

    async def add_ticket_note(
        self, ticket_id: int, message: str, *, markdown: bool = False, admin_username: str | None = None
    ) -> None: ...

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
    ) -> None: ...

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
    ) -> WhmcsOpenedTicket: ...

    async def test_connection(self, *, probe_write_actions: bool = True) -> WhmcsConnectionCheck: ...

    async def aclose(self) -> None: ...
