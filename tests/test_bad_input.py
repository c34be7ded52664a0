"""Oversized and malformed input that once caused 500s is a 4xx with the error shape."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Scope
from answerdesk.kit.bounds import SQL_INT_MAX, clamp_seq
from tests.factories import bearer, make_key, make_org

HUGE = 10**30


async def _key(db: AsyncSession) -> dict[str, str]:
    org = await make_org(db)
    return bearer(await make_key(db, org, scopes=[s.value for s in Scope]))


def _is_error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    error: dict[str, object] = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    return error


async def test_huge_after_on_a_conversation_is_a_422(client: httpx.AsyncClient, db: AsyncSession) -> None:
    headers = await _key(db)
    conversation = (await client.post("/api/v1/conversations", headers=headers, json={})).json()
    url = f"/api/v1/conversations/{conversation['id']}"
    response = await client.get(url, params={"after": HUGE}, headers=headers)
    assert _is_error(response, 422)["code"] == "validation_error"
    assert (await client.get(url, params={"after": 2_147_483_647}, headers=headers)).status_code == 200


async def test_huge_offset_on_tickets_is_a_422(client: httpx.AsyncClient, db: AsyncSession) -> None:
    headers = await _key(db)
    response = await client.get("/api/v1/tickets", params={"offset": HUGE}, headers=headers)
    assert _is_error(response, 422)["code"] == "validation_error"


async def test_long_or_many_tags_on_an_upload_are_a_422(client: httpx.AsyncClient, db: AsyncSession) -> None:
    headers = await _key(db)
    for tags in ("x" * 60, " ".join(f"t{i}" for i in range(30))):
        response = await client.post(
            "/api/v1/knowledge/documents",
            headers=headers,
            files={"file": ("a.txt", b"Some text about hosting.")},
            data={"tags": tags},
        )
        error = _is_error(response, 422)
        assert error["code"] == "validation_error"
        assert str(error["message"]).startswith("tags: ")


async def test_search_tags_are_bounded_and_cleaned(client: httpx.AsyncClient, db: AsyncSession) -> None:
    headers = await _key(db)
    long_tag = await client.post(
        "/api/v1/knowledge/search", headers=headers, json={"query": "dns", "tags": ["x" * 300]}
    )
    _is_error(long_tag, 422)
    many = await client.post(
        "/api/v1/knowledge/search", headers=headers, json={"query": "dns", "tags": ["a"] * 500}
    )
    _is_error(many, 422)


def test_a_last_event_id_is_used_only_when_it_is_a_sequence_number() -> None:
    # "²" is a digit to str.isdigit() but not to int(); 20 nines overflow both databases.
    assert clamp_seq("42") == 42
    assert clamp_seq(str(SQL_INT_MAX)) == SQL_INT_MAX
    for bad in (None, "", "²", "9" * 20, str(SQL_INT_MAX + 1), "-1", "1e3", " 1"):
        assert clamp_seq(bad) is None, bad


async def test_a_nul_character_is_never_a_server_error(client: httpx.AsyncClient, db: AsyncSession) -> None:
    # PostgreSQL cannot store U+0000 in text; SQLite can. Either way: never a 500.
    headers = await _key(db)
    faq = await client.post(
        "/api/v1/knowledge/faqs", headers=headers, json={"question": "What\x00 is DNS?", "answer": "Names."}
    )
    listed = await client.get("/api/v1/knowledge/documents", params={"q": "a\x00b"}, headers=headers)
    for response in (faq, listed):
        assert response.status_code < 500, response.text
    if db.bind.dialect.name == "postgresql":
        assert _is_error(faq, 422)["message"] == "Text may not contain NUL characters (\\u0000)."


async def test_a_url_longer_than_the_column_is_a_422(client: httpx.AsyncClient, db: AsyncSession) -> None:
    headers = await _key(db)
    url = "https://example.com/" + "a" * 2000
    response = await client.post("/api/v1/knowledge/urls", headers=headers, json={"url": url})
    assert _is_error(response, 422)["code"] == "validation_error"


async def test_an_upload_with_a_long_name_or_content_type_is_never_a_server_error(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    headers = await _key(db)
    long_name = await client.post(
        "/api/v1/knowledge/documents", headers=headers, files={"file": ("a" * 400 + ".txt", b"Some text.")}
    )
    assert _is_error(long_name, 422)["code"] == "filename_too_long"
    odd_type = await client.post(
        "/api/v1/knowledge/documents",
        headers=headers,
        files={"file": ("notes.txt", b"Some text.", "text/plain; x=" + "y" * 300)},
    )
    assert odd_type.status_code == 202, odd_type.text
    document = await client.get(f"/api/v1/knowledge/documents/{odd_type.json()['id']}", headers=headers)
    assert document.json()["content_type"] == "text/plain"
