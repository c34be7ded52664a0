"""Pure parsing of WHMCS quirks: wrapped lists, string numbers, zone-less dates, messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from answerdesk.integrations.whmcs import (
    WhmcsTicket,
    WhmcsTicketPage,
    api_endpoint,
    normalise_message,
    parse_whmcs_datetime,
    unwrap_list,
)
from answerdesk.integrations.whmcs.parsing import to_bool, to_csv_list, to_int, to_optional_int

EST = timezone(timedelta(hours=-5), "EST")


@pytest.mark.parametrize(
    "wrapper",
    [[], {}, "", None, {"ticket": []}, {"ticket": {}}, {"ticket": ""}, {"ticket": None}, False],
)
def test_every_empty_wrapper_is_an_empty_list(wrapper: Any) -> None:
    assert unwrap_list(wrapper, "ticket") == []


def test_single_object_and_numeric_keys_become_lists() -> None:
    one = {"id": "1"}
    two = {"id": "2"}
    assert unwrap_list({"ticket": one}, "ticket") == [one]
    assert unwrap_list({"ticket": {"1": two, "0": one}}, "ticket") == [one, two]
    assert unwrap_list({"0": one, "1": two}, "ticket") == [one, two]
    assert unwrap_list([one, two], "ticket") == [one, two]
    assert unwrap_list({"ticket": [one, None, "", two]}, "ticket") == [one, two]


@given(st.lists(st.fixed_dictionaries({"id": st.integers(0, 10**6).map(str)}), max_size=5))
def test_all_renderings_of_a_list_unwrap_to_the_same_items(items: list[dict[str, str]]) -> None:
    renderings: list[Any] = [{"ticket": items}, {"ticket": {str(i): x for i, x in enumerate(items)}}]
    if len(items) == 1:
        renderings.append({"ticket": items[0]})
    if not items:
        renderings += [[], {}, "", None]
    for rendering in renderings:
        assert unwrap_list(rendering, "ticket") == items


def test_numbers_as_strings() -> None:
    assert [to_int("12"), to_int(" 7 "), to_int(3), to_int(4.0), to_int(""), to_int(None)] == [
        12,
        7,
        3,
        4,
        0,
        0,
    ]
    assert to_optional_int("") is None and to_optional_int("5") == 5
    with pytest.raises(ValueError):
        to_int("abc")
    with pytest.raises(ValueError):
        to_int("1.5")
    assert [to_bool("1"), to_bool("0"), to_bool(""), to_bool("true"), to_bool(1)] == [
        True,
        False,
        False,
        True,
        True,
    ]
    assert to_csv_list("1, 2,,3") == ["1", "2", "3"]


def test_dates_are_zone_less_server_time_made_aware() -> None:
    assert parse_whmcs_datetime("2016-01-01 06:26:29", EST) == datetime(2016, 1, 1, 6, 26, 29, tzinfo=EST)
    assert parse_whmcs_datetime("2016-01-01", UTC) == datetime(2016, 1, 1, tzinfo=UTC)
    assert parse_whmcs_datetime("2016-01-01T06:26:29+02:00", EST) == datetime(
        2016, 1, 1, 4, 26, 29, tzinfo=UTC
    )
    for empty in ("", "0000-00-00 00:00:00", "0000-00-00", None, "soon", 5):
        assert parse_whmcs_datetime(empty, UTC) is None


def test_message_normalisation() -> None:
    assert normalise_message("Hi,\r\n\r\n\r\n\r\nthanks  \r\n") == "Hi,\n\nthanks"
    assert normalise_message("Tom &amp; Jerry said &quot;hi&quot;") == 'Tom & Jerry said "hi"'
    assert normalise_message("if a < b and c > d") == "if a < b and c > d"
    assert normalise_message("**bold** and `code`\r\n- item") == "**bold** and `code`\n- item"
    html = '<p>Hello&nbsp;there</p><p>See <a href="https://example.test/kb">the guide</a><br>Bye</p>'
    assert normalise_message(html) == "Hello there\n\nSee the guide (https://example.test/kb)\nBye"
    assert normalise_message('<a href="https://x.test">https://x.test</a>') == "https://x.test"
    assert normalise_message("<ul><li>one</li><li>two</li></ul><script>alert(1)</script>") == "- one\n- two"
    assert normalise_message(None) == ""


def test_endpoint_from_whatever_the_admin_pasted() -> None:
    assert api_endpoint("https://billing.example.test/") == "https://billing.example.test/includes/api.php"
    assert api_endpoint("https://example.test/whmcs") == "https://example.test/whmcs/includes/api.php"
    assert api_endpoint("https://example.test/whmcs/includes/api.php") == (
        "https://example.test/whmcs/includes/api.php"
    )
    for bad in ("example.test", "ftp://example.test", "https://example.test/?x=1"):
        with pytest.raises(ValueError):
            api_endpoint(bad)


def test_reference_examples_parse() -> None:
    page = WhmcsTicketPage.model_validate(
        {
            "result": "success",
            "totalresults": "1",
            "startnumber": 0,
            "numreturned": 1,
            "tickets": {
                "ticket": [
                    {
                        "id": "1",
                        "tid": "516757",
                        "deptid": "1",
                        "userid": "1",
                        "name": "Demo User",
                        "email": "demo@example.test",
                        "requestor_type": "Owner",
                        "c": "KPqH7yG3",
                        "date": "2016-01-01 06:26:29",
                        "subject": "This is a sample ticket",
                        "status": "Answered",
                        "priority": "Medium",
                        "admin": "admin admin",
                        "lastreply": "2016-01-01 06:30:16",
                        "flag": "0",
                        "service": "",
                        "unknown_future_field": {"nested": True},
                    }
                ]
            },
        },
        context={"tz": EST},
    )
    assert (page.total, page.start, page.returned, page.is_last) == (1, 0, 1, True)
    row = page.tickets[0]
    assert (row.id, row.tid, row.dept_id, row.user_id, row.access_code, row.flag) == (
        1,
        "516757",
        1,
        1,
        "KPqH7yG3",
        0,
    )
    assert row.last_reply_at == datetime(2016, 1, 1, 6, 30, 16, tzinfo=EST)

    ticket = WhmcsTicket.model_validate(
        {
            "result": "success",
            "ticketid": "1",
            "tid": "516757",
            "deptid": "1",
            "deptname": "Sample Support Department",
            "userid": "1",
            "subject": "Sample",
            "status": "Closed",
            "priority": "Medium",
            "service": "S12",
            "replies": {
                "reply": [
                    {"replyid": "0", "message": "Hey, I need help", "admin": ""},
                    {
                        "replyid": "1",
                        "requestor_type": "Operator",
                        "admin": "Demo Admin",
                        "rating": "0",
                        "message": "Hello, how can we help?",
                    },
                ]
            },
            "notes": {"note": [{"noteid": "1", "message": "This is a ticket note", "admin": "Demo Admin"}]},
        }
    )
    assert ticket.id == 1 and ticket.dept_name == "Sample Support Department"
    assert ticket.opening_message is not None and ticket.opening_message.message == "Hey, I need help"
    assert [r.is_staff for r in ticket.replies] == [False, True]
    assert ticket.notes[0].admin == "Demo Admin"
    assert (ticket.service_id, ticket.domain_id) == (12, None)
