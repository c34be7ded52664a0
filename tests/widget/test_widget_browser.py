"""In real Chromium: a host site on one origin embeds the widget served by Answerdesk from another."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind
from answerdesk.main import create_app
from answerdesk.runtime import Runtime
from tests.browser import chromium
from tests.chat.support import seed_demo_subset
from tests.conftest import make_settings
from tests.factories import bearer, make_key, make_org
from tests.live import free_port, serve

pytestmark = pytest.mark.browser

FAQ_QUESTION = "How do I point my domain to your nameservers?"
ANSWER_DEADLINE_MS = 60_000  # the first answer loads the embedding and sentiment models
HOSTILE_CSS = """
* { color: red !important; font-size: 40px !important; display: block !important;
    font-family: "Comic Sans MS", cursive !important; box-sizing: content-box !important; }
div, section, button, textarea { display: none !important; }
"""
INJECTION = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> **hi**'
# Records every text the streaming bubble shows, to prove the answer was drawn before it was complete.
RECORD_STREAM = """() => {
  window.streamed = [];
  const root = document.querySelector("answerdesk-chat").shadowRoot;
  // From the mutation records, not the DOM at callback time: when the token and done events arrive
  // in one read, the streaming bubble is added and removed again before this callback runs.
  new MutationObserver((records) => {
    for (const r of records) {
      for (const node of [r.target, ...r.addedNodes]) {
        const el = node.nodeType === 1 ? node : node.parentElement;
        const bubble = el && el.closest('.msg.bot[aria-hidden="true"]');
        if (bubble && window.streamed[window.streamed.length - 1] !== bubble.textContent)
          window.streamed.push(bubble.textContent);
      }
    }
  }).observe(root, { subtree: true, childList: true, characterData: true });
}"""
WIDGET_STYLES = """() => {
  const root = document.querySelector("answerdesk-chat").shadowRoot;
  const style = (sel) => { const s = getComputedStyle(root.querySelector(sel));
    return { display: s.display, color: s.color, fontSize: s.fontSize, width: s.width }; };
  return { launcher: style(".launcher"), panel: style(".panel"), bot: style(".msg.bot[data-seq]"),
           input: style("textarea"), host: getComputedStyle(document.querySelector("#host-text")).fontSize };
}"""


def host_site(base: str, key: str, *, hostile: bool = False) -> FastAPI:
    """The customer's website: two pages, each with the one-line embed."""
    site = FastAPI()

    def page(title: str) -> HTMLResponse:
        css = f"<style>{HOSTILE_CSS}</style>" if hostile else ""
        return HTMLResponse(
            f"<!doctype html><html><head><title>{title}</title>{css}</head><body>"
            f'<p id="host-text">{title} of the hosting company</p>'
            f'<script src="{base}/widget.js" data-key="{key}" async></script></body></html>'
        )

    site.get("/")(lambda: page("Home"))
    site.get("/pricing")(lambda: page("Pricing"))
    return site


async def open_widget(page: Page) -> None:
    await page.get_by_role("button", name=re.compile("^Open chat")).click()
    await expect(page.get_by_role("dialog")).to_be_visible()


async def test_customer_gets_a_streamed_cited_answer_that_survives_hostile_css_and_reload(
    database_url: str, tmp_path: Path, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db, "Widget Hosting")
    await seed_demo_subset(runtime, org.id)
    host_port = free_port()
    key = await make_key(db, org, ApiKeyKind.public, origins=[f"http://127.0.0.1:{host_port}"])
    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app) as base, serve(host_site(base, key, hostile=True), host_port) as host:
        async with chromium() as browser:
            context = await browser.new_context(viewport={"width": 1280, "height": 860})
            page = await context.new_page()
            await page.goto(f"{host}/")
            await open_widget(page)
            dialog = page.get_by_role("dialog", name="Chat with us")
            await expect(dialog.get_by_text("Ask me anything about our services")).to_be_visible()

            await page.evaluate(RECORD_STREAM)
            box = page.get_by_role("textbox", name="Your message")
            await box.fill(FAQ_QUESTION)
            await box.press("Enter")
            answer = page.locator("answerdesk-chat .msg.bot[data-seq]")
            await expect(answer).to_have_count(1, timeout=ANSWER_DEADLINE_MS)
            assert await page.evaluate("window.streamed.length") >= 1  # drawn from `token` events first
            await expect(page.locator("answerdesk-chat .msg.customer[data-seq]")).to_have_text(
                re.compile(re.escape(FAQ_QUESTION))
            )
            cite = answer.locator(".cite").first
            await expect(cite).to_be_visible()
            await cite.click()  # its source is a file, not a web page: the title and section show
            sources = answer.locator("details.sources")
            await expect(sources).to_have_attribute("open", "")
            await expect(sources.locator("li.hl")).to_be_visible()

            styles = await page.evaluate(WIDGET_STYLES)
            assert styles["host"] == "40px"  # the hostile stylesheet is live on the host page...
            assert styles["launcher"]["display"] == "flex" and styles["launcher"]["width"] == "56px"
            assert styles["panel"]["display"] == "flex" and styles["panel"]["width"] == "370px"
            assert styles["bot"]["fontSize"] == "14px" and styles["bot"]["color"] != "rgb(255, 0, 0)"
            assert styles["input"]["display"] == "inline-block" and styles["input"]["fontSize"] == "14px"
            await page.screenshot(path="/tmp/shot-widget-hostile.png")

            await box.fill(INJECTION)
            await box.press("Enter")
            mine = page.locator("answerdesk-chat .msg.customer[data-seq]").nth(1)
            await expect(mine).to_contain_text(
                "<script>window.pwned = 1</script>", timeout=ANSWER_DEADLINE_MS
            )
            await expect(answer).to_have_count(2, timeout=ANSWER_DEADLINE_MS)
            assert await page.evaluate("window.pwned") is None
            injected = page.locator("answerdesk-chat .log script, answerdesk-chat .log img")
            assert await injected.count() == 0

            await page.reload()  # the panel was open: it opens again with the same conversation
            await expect(answer).to_have_count(2, timeout=10_000)
            await expect(page.locator("answerdesk-chat .msg.customer[data-seq]")).to_have_count(2)
            await expect(page.get_by_role("dialog")).to_be_visible()

            other = await context.new_page()  # another page of the site, same conversation
            await other.goto(f"{host}/pricing")
            await expect(other.locator("answerdesk-chat .msg.bot[data-seq]")).to_have_count(2, timeout=10_000)
            seqs = await other.locator("answerdesk-chat .msg[data-seq]").evaluate_all(
                "els => els.map(e => +e.dataset.seq)"
            )
            assert seqs == sorted(set(seqs)) and len(seqs) == 4

            phone = await browser.new_context(viewport={"width": 390, "height": 844})
            small = await phone.new_page()
            await small.goto(f"{host}/")
            await open_widget(small)
            size = await small.evaluate(
                "() => { const r = document.querySelector('answerdesk-chat').shadowRoot"
                ".querySelector('.panel').getBoundingClientRect(); return [r.width, r.height]; }"
            )
            assert size == [390, 844]
            await small.keyboard.press("Escape")
            await expect(small.get_by_role("dialog")).to_be_hidden()
            focused = await small.evaluate(
                "document.querySelector('answerdesk-chat').shadowRoot.activeElement?.className"
            )
            assert focused == "launcher"


async def test_a_disallowed_origin_is_refused_with_a_readable_message(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    org = await make_org(db)
    host_port = free_port()
    key = await make_key(db, org, ApiKeyKind.public, origins=["https://www.example.com"])
    app = create_app(make_settings(database_url, tmp_path / "live"))
    with serve(app) as base, serve(host_site(base, key), host_port) as host:
        async with httpx.AsyncClient() as api:
            refused = await api.get(f"{base}/api/v1/widget/config", headers=bearer(key, Origin=host))
            assert refused.status_code == 403
            assert refused.json()["error"]["code"] == "origin_not_allowed"
        async with chromium() as browser:
            page = await browser.new_page()
            warnings: list[str] = []
            page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
            await page.goto(f"{host}/")
            await open_widget(page)
            await expect(page.get_by_role("alert")).to_have_text(
                "Sorry, the chat is not available on this website right now."
            )
            await expect(page.get_by_role("button", name="Send")).to_be_disabled()
            assert any(host in w and "allowed origin" in w for w in warnings), warnings
