"""Admin Widget page: the settings form with its preview, validation, and the embed snippet."""

from __future__ import annotations

import html

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind, Role
from answerdesk.auth.service import ApiKeyService
from answerdesk.widget.assets import widget_script
from answerdesk.widget.service import WidgetService
from tests.factories import bearer, logged_in, make_key, make_member, make_org

PAGE = "/admin/widget"
VALID = {
    "title": "Northwind help",
    "position": "bottom-left",
    "color": "#0f766e",
    "avatar_url": "https://images.example.com/anna.png",
    "welcome_message": "Hello! How can we help?",
    "suggestions": "Point my domain\nSet up e-mail",
    "prechat_name": "optional",
    "prechat_email": "required",
    "prechat_phone": "off",
    "language": "nl",
}


async def test_page_shows_form_live_preview_and_key_prompt(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_org(db)
    await make_member(db, org, Role.admin, email="wa@example.com")
    await logged_in(client, "wa@example.com")
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert "<h1>Widget</h1>" in page.text
    assert 'data-testid="widget-preview"' in page.text
    assert f"/widget/{widget_script().version}.js" in page.text  # the preview runs the real script
    assert "Create a widget key" in page.text and 'href="/admin/api-keys"' in page.text
    assert 'value="Chat with us"' in page.text


async def test_staff_cannot_open_the_widget_page(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    await make_member(db, org, Role.admin)
    await make_member(db, org, Role.staff, email="ws@example.com")
    s = await logged_in(client, "ws@example.com")
    assert (await client.get(PAGE)).status_code == 403
    assert (await client.post(PAGE, data={**VALID, "csrf_token": s.csrf})).status_code == 403


async def test_save_settings_then_the_config_endpoint_serves_them(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_org(db)
    await make_member(db, org, Role.admin, email="wv@example.com")
    s = await logged_in(client, "wv@example.com")
    saved = await client.post(PAGE, data={**VALID, "csrf_token": s.csrf})
    assert saved.status_code == 303
    page = await client.get(PAGE)
    assert "Widget settings saved." in page.text and 'value="Northwind help"' in page.text

    key = await make_key(db, org, ApiKeyKind.public, origins=["https://shop.example.com"])
    config = (
        await client.get("/api/v1/widget/config", headers=bearer(key, Origin="https://shop.example.com"))
    ).json()
    assert config["title"] == "Northwind help" and config["position"] == "bottom-left"
    assert config["avatar_url"] == "https://images.example.com/anna.png"
    assert config["suggestions"] == ["Point my domain", "Set up e-mail"]
    assert config["prechat"] == {"name": "optional", "email": "required", "phone": "off"}
    assert config["language"] == "nl"
    assert '<option value="nl" selected>Nederlands</option>' in page.text


async def test_invalid_settings_keep_the_input_and_name_each_problem(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_org(db)
    await make_member(db, org, Role.admin, email="wi@example.com")
    s = await logged_in(client, "wi@example.com")
    bad = {
        **VALID,
        "color": "red",
        "avatar_url": "javascript:alert(1)",
        "suggestions": "a\nb\nc\nd\ne",
        "prechat_phone": "sometimes",
        "language": "pl",
        "csrf_token": s.csrf,
    }
    page = await client.post(PAGE, data=bad)
    assert page.status_code == 422
    text = html.unescape(page.text)
    assert "Colour:" in text and "Avatar URL: use an http:// or https:// image address" in text
    assert "Starter suggestions:" in text and "Phone:" in text
    assert "Language: use 'auto' or one of en, de, fr, es, nl, it, pt" in text
    assert 'value="Northwind help"' in text  # what was typed stays
    assert 'id="wg-color" name="color" type="color" value="red" aria-invalid="true"' in text
    assert (await WidgetService(db).get(org.id)).title == "Chat with us"  # nothing saved


async def test_widget_key_gives_a_snippet_ready_to_copy(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    await make_member(db, org, Role.admin, email="wk@example.com")
    s = await logged_in(client, "wk@example.com")
    other = await make_key(db, org, ApiKeyKind.public, origins=["https://old.example.com"])

    refused = await client.post(f"{PAGE}/key", data={"origins": "not a site", "csrf_token": s.csrf})
    assert refused.status_code == 422 and "is not an origin" in html.unescape(refused.text)

    made = await client.post(
        f"{PAGE}/key", data={"origins": "https://www.example.com/", "csrf_token": s.csrf}
    )
    assert made.status_code == 303
    page = html.unescape((await client.get(PAGE)).text)
    org_id = org.id
    db.expire_all()  # the app changed the organization's settings in its own session
    embed = await WidgetService(db).embed_key(org_id)
    assert embed is not None and embed.allowed_origins == ["https://www.example.com"]
    assert f'<script src="http://testserver/widget.js" data-key="{embed.token}" async></script>' in page
    assert f'data-key="{other[:12]}…"' in page  # other public keys: only their prefix is known
    principal = await ApiKeyService(db).authenticate(embed.token, origin="https://www.example.com")
    assert principal.organization_id == org_id

    await ApiKeyService(db).revoke(org_id, embed.id, actor_id=None)
    await db.commit()
    assert "Create a widget key" in (await client.get(PAGE)).text
