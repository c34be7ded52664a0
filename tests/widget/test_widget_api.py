"""The widget's public routes: the script and its caching, the config endpoint, CORS, and /demo."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind
from answerdesk.demo.seed import DEMO_ORG_SLUG, ensure_demo_widget_key
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService
from answerdesk.widget.assets import widget_script
from answerdesk.widget.service import WidgetService
from answerdesk.widget.settings import WidgetSettings
from tests.factories import bearer, make_key, make_org

SHOP = "https://shop.example.com"
ELSEWHERE = "https://elsewhere.example.com"
CONFIG = "/api/v1/widget/config"


async def test_widget_js_is_gzipped_cached_briefly_and_revalidated(client: httpx.AsyncClient) -> None:
    script = widget_script()
    r = await client.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "public, max-age=300"
    assert r.headers["etag"] == f'"{script.version}"'
    assert "Accept-Encoding" in r.headers["vary"]
    assert r.content == script.raw  # httpx undid the gzip
    assert int(r.headers["content-length"]) == len(script.gzipped)

    again = await client.get("/widget.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and not again.content

    plain = await client.get("/widget.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == script.raw


async def test_versioned_url_is_immutable_and_an_old_version_still_works(client: httpx.AsyncClient) -> None:
    script = widget_script()
    current = await client.get(f"/widget/{script.version}.js")
    assert current.status_code == 200 and current.content == script.raw
    assert "immutable" in current.headers["cache-control"]
    old = await client.get("/widget/0123456789ab.js")
    assert old.status_code == 200 and old.content == script.raw
    assert old.headers["cache-control"] == "public, max-age=300"
    assert (await client.get("/widget/not-a-version.js")).status_code == 422


async def test_config_for_a_public_key_from_its_origin(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db, "Config Hosting")
    await WidgetService(db).replace(
        org.id,
        WidgetSettings(
            title="Northwind help",
            color="#0f766e",
            position="bottom-left",
            suggestions=["Point my domain"],
            prechat={"email": "required", "name": "optional"},
        ),
    )
    await db.commit()
    key = await make_key(db, org, ApiKeyKind.public, origins=[SHOP])

    r = await client.get(CONFIG, headers=bearer(key, Origin=SHOP))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["organization_name"] == "Config Hosting"
    assert (body["title"], body["color"], body["position"]) == ("Northwind help", "#0f766e", "bottom-left")
    assert body["suggestions"] == ["Point my domain"]
    assert body["prechat"] == {"name": "optional", "email": "required", "phone": "off"}
    assert r.headers["access-control-allow-origin"] == SHOP
    assert "Origin" in r.headers["vary"]

    refused = await client.get(CONFIG, headers=bearer(key, Origin=ELSEWHERE))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in refused.headers

    assert (await client.get(CONFIG, headers={"Origin": SHOP})).status_code == 401


async def test_config_defaults_when_nothing_was_saved(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    key = await make_key(db, org, ApiKeyKind.public, origins=[SHOP])
    r = await client.get(CONFIG, headers=bearer(key, Origin=SHOP))
    assert r.status_code == 200
    drawn = {k: v for k, v in r.json().items() if k not in ("organization_name", "powered_by_url")}
    assert drawn == WidgetSettings().model_dump()


async def test_preflight_is_answered_for_the_public_api_only(client: httpx.AsyncClient) -> None:
    asks = {
        "Origin": SHOP,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, x-conversation-token",
    }
    for path in ("/api/v1/conversations", "/api/v1/conversations/abc/messages", CONFIG):
        r = await client.options(path, headers=asks)
        assert r.status_code == 204, path
        assert r.headers["access-control-allow-origin"] == SHOP
        allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
        assert {"authorization", "content-type", "x-conversation-token"} <= allowed
        assert "POST" in r.headers["access-control-allow-methods"]
    other = await client.options("/api/v1/knowledge/documents", headers=asks)
    assert "access-control-allow-origin" not in other.headers


async def test_chat_responses_are_readable_only_from_allowed_origins(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_org(db)
    key = await make_key(db, org, ApiKeyKind.public, origins=[SHOP])
    started = await client.post("/api/v1/conversations", headers=bearer(key, Origin=SHOP))
    assert started.status_code == 201
    assert started.headers["access-control-allow-origin"] == SHOP
    assert "X-Request-ID" in started.headers["access-control-expose-headers"]
    conversation = started.json()
    read = await client.get(
        f"/api/v1/conversations/{conversation['id']}",
        headers=bearer(key, Origin=SHOP, **{"X-Conversation-Token": conversation["token"]}),
    )
    assert read.status_code == 200 and read.headers["access-control-allow-origin"] == SHOP

    refused = await client.post("/api/v1/conversations", headers=bearer(key, Origin=ELSEWHERE))
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    revoked_key = await make_key(db, org, ApiKeyKind.public, origins=[SHOP])
    bad = await client.post("/api/v1/conversations", headers=bearer(revoked_key + "x", Origin=SHOP))
    assert bad.status_code == 401 and "access-control-allow-origin" not in bad.headers


async def test_same_origin_get_without_origin_header_counts_as_this_servers_origin(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    """Browsers send no Origin on same-origin GETs: the /demo page's widget relies on Sec-Fetch-Site."""
    org = await make_org(db)
    key = await make_key(db, org, ApiKeyKind.public, origins=["http://testserver"])
    r = await client.get(CONFIG, headers=bearer(key, **{"Sec-Fetch-Site": "same-origin"}))
    assert r.status_code == 200, r.text
    assert (await client.get(CONFIG, headers=bearer(key))).status_code == 403
    cross = await client.get(CONFIG, headers=bearer(key, **{"Sec-Fetch-Site": "cross-site"}))
    assert cross.status_code == 403


async def test_demo_page_embeds_a_key_that_works_from_base_url(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    assert (await client.get("/demo")).status_code == 404
    await OrganizationService(db).create("Northwind Hosting (demo)", DEMO_ORG_SLUG)
    await db.commit()
    key = await ensure_demo_widget_key(runtime)
    assert key is not None and key.startswith("ad_pk_")
    assert await ensure_demo_widget_key(runtime) == key  # reused on the next start

    page = await client.get("/demo")
    assert page.status_code == 200
    assert f'data-key="{key}"' in page.text
    assert f'src="/widget/{widget_script().version}.js"' in page.text
    config = await client.get(CONFIG, headers=bearer(key, Origin="http://testserver"))
    assert config.status_code == 200 and config.json()["organization_name"] == "Northwind Hosting (demo)"

    elsewhere = await client.get("/demo", headers={"Host": "localhost:9999"})
    assert elsewhere.status_code == 200 and "data-key" not in elsewhere.text
    assert "http://testserver/demo" in elsewhere.text
