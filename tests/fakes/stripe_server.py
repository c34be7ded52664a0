"""Stripe on 127.0.0.1 for tests: localstripe (PyPI) for the stateful core, and a small front server for
what localstripe lacks (Checkout sessions, the Customer Portal, the hosted pages behind them).

localstripe implements customers, products, plans (Stripe accepts a plan id wherever a price id goes),
payment methods, subscriptions and invoices. The front server answers Stripe's wire format for
``/v1/checkout/sessions`` and ``/v1/billing_portal/sessions`` and forwards every other ``/v1`` call to
localstripe unchanged, so the SDK is pointed at one API base. The hosted pages act as the customer:
paying a Checkout session creates the subscription in localstripe and delivers the events Stripe
sends, each signed as Stripe signs them (``Stripe-Signature: t=<unix>,v1=<HMAC-SHA256 of "t.payload">``).

    with run_localstripe() as localstripe, serve_fake_stripe(FakeStripe(localstripe)) as fake:
        StripeGateway("sk_test_x", api_base=fake.base_url)
        fake.add_webhook("http://127.0.0.1:8000/webhooks/stripe", "whsec_test")
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.live import free_port

API_VERSION = "2026-10-28.endive"
TEST_API_KEY = "sk_test_answerdesk_fake"
TEST_CARD = "4242424242424242"

# localstripe keeps its whole store in /tmp/localstripe.pickle after each write and listens on every
# interface; this launcher keeps the store in memory (parallel runs share no file) and binds 127.0.0.1.
_LAUNCHER = """
import sys
from aiohttp import web
import localstripe.resources as resources
from localstripe.server import app
resources.Store.dump_to_disk = lambda self: None
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A Stripe-Signature header value for ``payload``, computed the way Stripe documents it."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event_body(
    event_type: str, obj: dict[str, Any], *, event_id: str | None = None, created: int | None = None
) -> dict[str, Any]:
    """A Stripe event (snapshot payload) wrapping ``obj``."""
    return {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()) if created is None else created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


@dataclass
class LocalStripe:
    base_url: str
    api_key: str = TEST_API_KEY

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, auth=(self.api_key, ""), timeout=10)

    def flush(self) -> None:
        """Empties every object: each test starts from a clean Stripe account."""
        httpx.delete(f"{self.base_url}/_config/data", timeout=10).raise_for_status()

    def deliver_webhooks(self, url: str, secret: str, events: list[str]) -> None:
        """Has localstripe itself send its events (signed with ``secret``) to ``url``, about a second late."""
        form = urlencode([("url", url), ("secret", secret)] + [("events[]", e) for e in events])
        httpx.post(
            f"{self.base_url}/_config/webhooks/answerdesk",
            content=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=10,
        ).raise_for_status()

    def stop_webhooks(self) -> None:
        # localstripe cannot forget an endpoint (flushing keeps them): point it at an event it never sends.
        self.deliver_webhooks("http://127.0.0.1:9/", "unused", ["answerdesk.none"])

    def create_price(self, price_id: str, *, amount: int, name: str, currency: str = "usd") -> str:
        """A monthly recurring price (a localstripe plan) with its product."""
        with self.client() as c:
            product = c.post("/v1/products", data={"name": name})
            product.raise_for_status()
            plan = c.post(
                "/v1/plans",
                data={
                    "id": price_id,
                    "product": product.json()["id"],
                    "amount": str(amount),
                    "currency": currency,
                    "interval": "month",
                },
            )
            plan.raise_for_status()
        return price_id


@contextmanager
def run_localstripe() -> Iterator[LocalStripe]:
    """localstripe as a child process on a free 127.0.0.1 port, until the block ends."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _LAUNCHER, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                httpx.get(f"{base}/v1/customers", auth=(TEST_API_KEY, ""), timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    err = (
                        process.stderr.read().decode()
                        if process.stderr and process.poll() is not None
                        else ""
                    )
                    raise RuntimeError(f"localstripe did not start: {err[-2000:]}") from None
                time.sleep(0.05)
        yield LocalStripe(base)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stripe_error(
    status: int, message: str, *, code: str | None = None, param: str | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"type": "invalid_request_error", "message": message, "code": code, "param": param}},
        status_code=status,
    )


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (``line_items[0][price]=x``) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = [key.split("[", 1)[0]] + [p.rstrip("]") for p in key.split("[")[1:]]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def lists(value: Any) -> Any:
        if isinstance(value, dict):
            value = {k: lists(v) for k, v in value.items()}
            if value and all(k.isdigit() for k in value):
                return [value[k] for k in sorted(value, key=int)]
        return value

    result: dict[str, Any] = lists(root)
    return result


@dataclass
class Delivery:
    url: str
    event: dict[str, Any]
    status_code: int | None


@dataclass
class FakeStripe:
    localstripe: LocalStripe
    base_url: str = ""  # set when served
    webhooks: list[tuple[str, str]] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    checkout_sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    portal_sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # Answer the next API calls with these HTTP statuses (Stripe failing), one per call.
    failures: list[int] = field(default_factory=list)

    def add_webhook(self, url: str, secret: str) -> None:
        self.webhooks.append((url, secret))

    def reset(self) -> None:
        self.localstripe.flush()
        self.localstripe.stop_webhooks()
        self.webhooks.clear()
        self.deliveries.clear()
        self.checkout_sessions.clear()
        self.portal_sessions.clear()
        self.requests.clear()
        self.failures.clear()

    def fail(self, status: int = 500, times: int = 1) -> None:
        """The next ``times`` API calls answer ``status`` (the SDK retries a 5xx, so fail its retries too)."""
        self.failures.extend([status] * times)

    def delivered(self, event_type: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.event["type"] == event_type]

    # --- the ASGI app ---------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/checkout/sessions", self._create_checkout, methods=["POST"]),
                Route("/v1/checkout/sessions/{id}", self._get_checkout, methods=["GET"]),
                Route("/v1/billing_portal/sessions", self._create_portal, methods=["POST"]),
                Route("/checkout/{id}", self._checkout_page, methods=["GET"]),
                Route("/checkout/{id}/pay", self._pay, methods=["POST"]),
                Route("/portal/{id}", self._portal_page, methods=["GET"]),
                Route("/portal/{id}/cancel", self._portal_cancel, methods=["POST"]),
                Route("/v1/{path:path}", self._proxy, methods=["GET", "POST", "DELETE"]),
            ]
        )

    async def _params(self, request: Request) -> dict[str, Any]:
        body = (await request.body()).decode()
        return unflatten(parse_qsl(body, keep_blank_values=True))

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization", "").startswith(("Bearer sk_", "Basic "))

    def _injected_failure(self) -> JSONResponse | None:
        if not self.failures:
            return None
        status = self.failures.pop(0)
        return JSONResponse(
            {"error": {"type": "api_error", "message": "An unexpected error occurred (injected)."}},
            status_code=status,
        )

    async def _ls(self, method: str, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        async with httpx.AsyncClient(
            base_url=self.localstripe.base_url, auth=(self.localstripe.api_key, ""), timeout=10
        ) as c:
            return await c.request(method, path, data=data)

    async def _proxy(self, request: Request) -> Response:
        self.requests.append((request.method, request.url.path))
        if (failure := self._injected_failure()) is not None:
            return failure
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")}
        async with httpx.AsyncClient(base_url=self.localstripe.base_url, timeout=10) as c:
            answer = await c.request(
                request.method,
                request.url.path,
                params=list(request.query_params.multi_items()),
                content=await request.body(),
                headers=headers,
            )
        return Response(answer.content, status_code=answer.status_code, media_type="application/json")

    async def _create_checkout(self, request: Request) -> Response:
        self.requests.append(("POST", "/v1/checkout/sessions"))
        if not self._authorised(request):
            return stripe_error(401, "Invalid API Key provided.")
        if (failure := self._injected_failure()) is not None:
            return failure
        p = await self._params(request)
        if p.get("mode") != "subscription":
            return stripe_error(400, "This fake only supports mode=subscription.", param="mode")
        for name in ("success_url", "cancel_url"):
            if not p.get(name):
                return stripe_error(
                    400, f"Missing required param: {name}.", code="parameter_missing", param=name
                )
        items = p.get("line_items") or []
        price = items[0].get("price") if items and isinstance(items[0], dict) else None
        if not price:
            return stripe_error(
                400, "Missing required param: line_items[0][price].", param="line_items[0][price]"
            )
        if (await self._ls("GET", f"/v1/plans/{price}")).status_code != 200:
            return stripe_error(
                400, f"No such price: '{price}'", code="resource_missing", param="line_items[0][price]"
            )
        customer = p.get("customer")
        if customer and (await self._ls("GET", f"/v1/customers/{customer}")).status_code != 200:
            return stripe_error(
                400, f"No such customer: '{customer}'", code="resource_missing", param="customer"
            )
        sid = f"cs_test_{secrets.token_hex(16)}"
        session = {
            "id": sid,
            "object": "checkout.session",
            "mode": "subscription",
            "status": "open",
            "payment_status": "unpaid",
            "url": f"{self.base_url}/checkout/{sid}",
            "customer": customer,
            "customer_email": p.get("customer_email"),
            "client_reference_id": p.get("client_reference_id"),
            "metadata": p.get("metadata") or {},
            "subscription": None,
            "success_url": p["success_url"],
            "cancel_url": p["cancel_url"],
            "created": int(time.time()),
            "livemode": False,
        }
        self.checkout_sessions[sid] = {
            **session,
            "_price": price,
            "_subscription_metadata": (p.get("subscription_data") or {}).get("metadata") or {},
        }
        return JSONResponse(session)

    def _public(self, session: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in session.items() if not k.startswith("_")}

    async def _get_checkout(self, request: Request) -> Response:
        session = self.checkout_sessions.get(request.path_params["id"])
        if session is None:
            return stripe_error(404, "No such checkout.session", code="resource_missing")
        return JSONResponse(self._public(session))

    async def _checkout_page(self, request: Request) -> Response:
        session = self.checkout_sessions.get(request.path_params["id"])
        if session is None:
            return HTMLResponse("<h1>Session expired</h1>", status_code=404)
        plan = (await self._ls("GET", f"/v1/plans/{session['_price']}")).json()
        return HTMLResponse(
            f"""<!doctype html><title>Checkout (fake Stripe)</title><h1>Subscribe</h1>
            <p>{plan.get("amount", 0) / 100:.2f} {plan.get("currency", "").upper()} per month</p>
            <form method="post" action="/checkout/{session["id"]}/pay">
            <label>Card number <input name="card" value="{TEST_CARD}"></label>
            <button type="submit">Subscribe</button></form>
            <a href="{session["cancel_url"]}">Back</a>"""
        )

    async def _pay(self, request: Request) -> Response:
        """The customer pays on the hosted page: Stripe creates the subscription, then tells the app."""
        session = self.checkout_sessions.get(request.path_params["id"])
        if session is None or session["status"] != "open":
            return HTMLResponse("<h1>Session expired</h1>", status_code=404)
        customer = session["customer"]
        if not customer:
            created = await self._ls("POST", "/v1/customers", {"email": session.get("customer_email") or ""})
            customer = created.json()["id"]
        card = (await self._params(request)).get("card") or TEST_CARD
        pm = await self._ls(
            "POST",
            "/v1/payment_methods",
            {
                "type": "card",
                "card[number]": card,
                "card[exp_month]": "12",
                "card[exp_year]": "2034",
                "card[cvc]": "123",
            },
        )
        pm_id = pm.json()["id"]
        await self._ls("POST", f"/v1/payment_methods/{pm_id}/attach", {"customer": customer})
        await self._ls(
            "POST", f"/v1/customers/{customer}", {"invoice_settings[default_payment_method]": pm_id}
        )
        data = {"customer": customer, "items[0][plan]": session["_price"]}
        data.update({f"metadata[{k}]": v for k, v in session["_subscription_metadata"].items()})
        created_sub = await self._ls("POST", "/v1/subscriptions", data)
        if created_sub.status_code != 200:
            return HTMLResponse(f"<h1>Payment failed</h1><pre>{created_sub.text}</pre>", status_code=402)
        subscription = created_sub.json()
        session.update(
            status="complete", payment_status="paid", customer=customer, subscription=subscription["id"]
        )
        # Stripe's order is not guaranteed; this is a common one.
        await self.emit("customer.subscription.created", subscription)
        await self.emit("checkout.session.completed", self._public(session))
        invoice_id = subscription.get("latest_invoice")
        if invoice_id:
            invoice = (await self._ls("GET", f"/v1/invoices/{invoice_id}")).json()
            await self.emit("invoice.paid", invoice)
        target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
        return RedirectResponse(target, status_code=303)

    async def _create_portal(self, request: Request) -> Response:
        self.requests.append(("POST", "/v1/billing_portal/sessions"))
        if not self._authorised(request):
            return stripe_error(401, "Invalid API Key provided.")
        if (failure := self._injected_failure()) is not None:
            return failure
        p = await self._params(request)
        customer = p.get("customer")
        if not customer:
            return stripe_error(
                400, "Missing required param: customer.", code="parameter_missing", param="customer"
            )
        if (await self._ls("GET", f"/v1/customers/{customer}")).status_code != 200:
            return stripe_error(
                400, f"No such customer: '{customer}'", code="resource_missing", param="customer"
            )
        pid = f"bps_{secrets.token_hex(12)}"
        session = {
            "id": pid,
            "object": "billing_portal.session",
            "customer": customer,
            "return_url": p.get("return_url"),
            "url": f"{self.base_url}/portal/{pid}",
            "created": int(time.time()),
            "livemode": False,
        }
        self.portal_sessions[pid] = session
        return JSONResponse(session)

    async def _portal_page(self, request: Request) -> Response:
        session = self.portal_sessions.get(request.path_params["id"])
        if session is None:
            return HTMLResponse("<h1>Session expired</h1>", status_code=404)
        return HTMLResponse(
            f"""<!doctype html><title>Billing portal (fake Stripe)</title><h1>Manage your subscription</h1>
            <form method="post" action="/portal/{session["id"]}/cancel"><button>Cancel plan</button></form>
            <a href="{session["return_url"]}">Return</a>"""
        )

    async def _portal_cancel(self, request: Request) -> Response:
        session = self.portal_sessions.get(request.path_params["id"])
        if session is None:
            return HTMLResponse("<h1>Session expired</h1>", status_code=404)
        subs = (await self._ls("GET", f"/v1/subscriptions?customer={session['customer']}")).json()["data"]
        for sub in subs:
            cancelled = await self._ls("DELETE", f"/v1/subscriptions/{sub['id']}")
            await self.emit("customer.subscription.deleted", cancelled.json())
        return RedirectResponse(session["return_url"] or "/", status_code=303)

    async def emit(self, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Delivers an event to every webhook endpoint, signed with that endpoint's secret."""
        event = event_body(event_type, obj)
        payload = json.dumps(event).encode()
        async with httpx.AsyncClient(timeout=30) as c:
            for url, secret in self.webhooks:
                try:
                    answer = await c.post(
                        url,
                        content=payload,
                        headers={
                            "Content-Type": "application/json; charset=utf-8",
                            "Stripe-Signature": sign(payload, secret),
                        },
                    )
                    status: int | None = answer.status_code
                except httpx.HTTPError:
                    status = None
                self.deliveries.append(Delivery(url, event, status))
        return event


@contextmanager
def serve_fake_stripe(fake: FakeStripe) -> Iterator[FakeStripe]:
    """The front server on a free 127.0.0.1 port in a background thread."""
    port = free_port()
    fake.base_url = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("fake Stripe did not start")
        time.sleep(0.02)
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
