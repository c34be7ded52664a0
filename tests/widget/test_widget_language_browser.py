"""In real Chromium: the widget's own texts follow the visitor's browser, or the language the site fixed."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Route, expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind
from answerdesk.languages.texts import Text, say
from answerdesk.main import create_app
from answerdesk.widget.service import WidgetService
from answerdesk.widget.settings import WidgetSettings
from tests.browser import chromium
from tests.conftest import make_settings
from tests.factories import bearer, make_key, make_org
from tests.live import free_port, serve
from tests.widget.test_widget_browser import ANSWER_DEADLINE_MS, host_site

pytestmark = pytest.mark.browser


async def test_a_german_browser_gets_german_texts_and_answers(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    org = await make_org(db, "Sprachen Hosting")  # no knowledge: every answer is the "I don't know" text
    host_port = free_port()
    key = await make_key(db, org, ApiKeyKind.public, origins=[f"http://127.0.0.1:{host_port}"])
    secret = await make_key(db, org)
    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app) as base, serve(host_site(base, key), host_port) as host:
        async with chromium() as browser:
            context = await browser.new_context(locale="de-DE", viewport={"width": 1100, "height": 800})
            page = await context.new_page()
            await page.goto(f"{host}/")
            await page.get_by_role("button", name="Chat öffnen: Chatten Sie mit uns").click()
            dialog = page.get_by_role("dialog", name="Chatten Sie mit uns")
            await expect(dialog).to_be_visible()
            # The default welcome message is ours, so it is translated too.
            await expect(dialog.get_by_text("Fragen Sie mich alles zu unseren Leistungen")).to_be_visible()
            await expect(dialog.get_by_role("button", name="Mit einem Menschen sprechen")).to_be_visible()
            await expect(dialog.get_by_role("button", name="Chat minimieren")).to_be_visible()
            box = dialog.get_by_role("textbox", name="Ihre Nachricht")
            await expect(box).to_have_attribute("placeholder", "Nachricht eingeben…")

            await box.fill("Könnt ihr mein Hosting in ein anderes Rechenzentrum umziehen?")
            await dialog.get_by_role("button", name="Senden").click()
            answer = page.locator("answerdesk-chat .msg.bot[data-seq]")
            await expect(answer).to_have_count(1, timeout=ANSWER_DEADLINE_MS)
            await expect(answer).to_contain_text(say(Text.no_answer, "de"))
            await page.screenshot(path="/tmp/shot-widget-de.png")

            cid = await page.evaluate(
                "() => JSON.parse(localStorage.getItem(Object.keys(localStorage)"
                ".find((k) => k.startsWith('answerdesk:')))).id"
            )
            async with httpx.AsyncClient() as api:
                read = await api.get(f"{base}/api/v1/conversations/{cid}", headers=bearer(secret))
            assert read.json()["language"] == "de"
            assert read.json()["messages"][0]["language"] == "de"

            # The API's error messages are English: the visitor reads the widget's own, in German.
            async def too_fast(route: Route) -> None:
                body = '{"error": {"code": "rate_limited", "message": "Too many requests; slow down."}}'
                await route.fulfill(status=429, content_type="application/json", body=body)

            await page.route(re.compile(r".*/conversations/[^/]+/messages$"), too_fast)
            await box.fill("Noch eine Frage?")
            await dialog.get_by_role("button", name="Senden").click()
            await expect(dialog.get_by_role("alert")).to_contain_text("Sie senden Nachrichten zu schnell")
            await expect(dialog).not_to_contain_text("slow down")
            await page.unroute(re.compile(r".*/conversations/[^/]+/messages$"))

            await dialog.get_by_role("button", name="Chat beenden").click()
            await expect(dialog.get_by_role("group", name="Wie war dieser Chat?")).to_be_visible()
            await expect(dialog.get_by_role("button", name="Bewertung senden")).to_be_visible()
            await page.screenshot(path="/tmp/shot-widget-de-rating.png")


async def test_a_fixed_french_setting_wins_over_the_browser(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    org = await make_org(db, "Hébergement")
    await WidgetService(db).replace(
        org.id,
        WidgetSettings(
            language="fr", welcome_message="Bienvenue chez Hébergement !", prechat={"email": "required"}
        ),
    )
    await db.commit()
    host_port = free_port()
    key = await make_key(db, org, ApiKeyKind.public, origins=[f"http://127.0.0.1:{host_port}"])
    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app) as base, serve(host_site(base, key), host_port) as host:
        async with chromium() as browser:
            context = await browser.new_context(locale="de-DE", viewport={"width": 1100, "height": 800})
            page = await context.new_page()
            await page.goto(f"{host}/")
            await page.get_by_role("button", name=re.compile("^Ouvrir le chat")).click()
            dialog = page.get_by_role("dialog", name="Discutez avec nous")
            await expect(dialog).to_be_visible()
            await expect(dialog.get_by_text("Bienvenue chez Hébergement !")).to_be_visible()  # as typed
            form = dialog.get_by_role("form", name="Avant de commencer")
            await expect(form).to_be_visible()
            await form.get_by_role("button", name="Démarrer le chat").click()
            await expect(form.get_by_text("E-mail : champ obligatoire.")).to_be_visible()
            await form.get_by_label("E-mail").fill("pas-une-adresse")
            await form.get_by_role("button", name="Démarrer le chat").click()
            await expect(
                form.get_by_text("Saisissez une adresse e-mail comme nom@exemple.com.")
            ).to_be_visible()
            await expect(dialog.get_by_role("button", name="Parler à une personne")).to_be_visible()
            await page.screenshot(path="/tmp/shot-widget-fr.png")
            assert (
                await page.evaluate(
                    "document.querySelector('answerdesk-chat').shadowRoot.querySelector('.w').lang"
                )
                == "fr"
            )
