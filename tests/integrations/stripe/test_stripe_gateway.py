"""The Stripe adapter through the official SDK, against localstripe and the fake Checkout and Portal."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from tests.fakes.stripe_server import TEST_API_KEY, FakeStripe, event_body, sign

from answerdesk.integrations.stripe import (
    StripeError,
    StripeGateway,
    StripeSignatureError,
    StripeWebhookError,
    verify_event,
)

SECRET = "whsec_test_adapter"


@pytest.fixture
async def gateway(fake_stripe: FakeStripe):
    g = StripeGateway(TEST_API_KEY, api_base=fake_stripe.base_url, max_network_retries=0)
    yield g
    await g.aclose()


async def test_checkout_then_subscription_and_invoices(
    gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    price = fake_stripe.localstripe.create_price("price_pro_test", amount=2900, name="Pro")
    customer = await gateway.create_customer(
        email="ada@example.com", name="Ada Hosting", metadata={"organization_id": "o1"}
    )
    assert customer.startswith("cus_")
    session = await gateway.create_checkout_session(
        price_id=price,
        customer_id=customer,
        client_reference_id="o1",
        metadata={"organization_id": "o1"},
        success_url="http://app.test/admin/billing?checkout=done",
        cancel_url="http://app.test/admin/billing",
    )
    assert session.id.startswith("cs_") and session.url and session.status == "open"
    assert session.client_reference_id == "o1" and session.customer_id == customer

    # The customer pays on the hosted page; Stripe (localstripe) now holds an active subscription.
    paid = httpx.post(f"{session.url}/pay", data={"card": "4242424242424242"}, follow_redirects=False)
    assert (
        paid.status_code == 303 and paid.headers["location"] == "http://app.test/admin/billing?checkout=done"
    )
    completed = fake_stripe.checkout_sessions[session.id]
    subscription = await gateway.retrieve_subscription(completed["subscription"])
    assert subscription.status == "active"
    assert subscription.price_id == price and subscription.customer_id == customer
    assert subscription.metadata == {"organization_id": "o1"}
    assert subscription.current_period_end is not None and subscription.current_period_start is not None
    assert subscription.current_period_end > subscription.current_period_start

    invoices = await gateway.list_invoices(customer_id=customer)
    assert [(i.status, i.amount_paid, i.currency) for i in invoices] == [("paid", 2900, "usd")]
    assert invoices[0].subscription_id == subscription.id

    portal = await gateway.create_portal_session(
        customer_id=customer, return_url="http://app.test/admin/billing"
    )
    assert portal.url.startswith(fake_stripe.base_url)


async def test_stripe_refusals_are_readable_errors(gateway: StripeGateway, fake_stripe: FakeStripe) -> None:
    with pytest.raises(StripeError) as missing:
        await gateway.create_portal_session(customer_id="cus_nobody", return_url="http://app.test/")
    assert missing.value.status_code == 400 and "No such customer" in missing.value.message
    assert not missing.value.unavailable

    customer = await gateway.create_customer(email="b@example.com", name="B", metadata={})
    with pytest.raises(StripeError) as bad_price:
        await gateway.create_checkout_session(
            price_id="price_missing",
            customer_id=customer,
            client_reference_id="o",
            metadata={},
            success_url="http://app.test/ok",
            cancel_url="http://app.test/back",
        )
    assert "No such price" in bad_price.value.message

    fake_stripe.fail(500)
    with pytest.raises(StripeError) as down:
        await gateway.list_invoices(customer_id=customer)
    assert down.value.unavailable and "try again" in down.value.message

    with pytest.raises(StripeError) as not_found:
        await gateway.retrieve_subscription("sub_missing")
    assert not_found.value.status_code == 404


async def test_unreachable_stripe_is_an_unavailable_error() -> None:
    from tests.live import free_port

    g = StripeGateway(
        TEST_API_KEY, api_base=f"http://127.0.0.1:{free_port()}", max_network_retries=0, timeout=2
    )
    try:
        with pytest.raises(StripeError) as exc:
            await g.list_invoices(customer_id="cus_x")
        assert exc.value.unavailable and "could not be reached" in exc.value.message
    finally:
        await g.aclose()


def _payload(**extra: object) -> bytes:
    return json.dumps(
        event_body("invoice.paid", {"id": "in_1", "object": "invoice"}, event_id="evt_1", **extra)
    ).encode()  # type: ignore[arg-type]


def test_verify_event_accepts_stripes_signature() -> None:
    payload = _payload()
    event = verify_event(payload, sign(payload, SECRET), SECRET)
    assert (event.id, event.type, event.object["id"]) == ("evt_1", "invoice.paid", "in_1")


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (None, "missing"),
        ("", "missing"),
        ("garbage", "refused"),
        ("t=abc,v1=00", "refused"),
        ("t=1700000000", "refused"),
        ("wrong-secret", "refused"),
        ("stale", "refused"),
        ("tampered", "refused"),
    ],
)
def test_verify_event_refuses_bad_signatures(header: str | None, why: str) -> None:
    payload = _payload()
    if header == "wrong-secret":
        header = sign(payload, "whsec_other")
    elif header == "stale":
        header = sign(payload, SECRET, timestamp=int(time.time()) - 301)
    elif header == "tampered":
        header = sign(payload, SECRET)
        payload = payload.replace(b"in_1", b"in_2")
    with pytest.raises(StripeSignatureError) as exc:
        verify_event(payload, header, SECRET)
    assert why in exc.value.message


def test_several_signatures_one_valid_is_accepted() -> None:
    """During a secret roll Stripe signs with both secrets: any matching v1 passes."""
    payload = _payload()
    t = int(time.time())
    good = sign(payload, SECRET, t).split("v1=")[1]
    header = f"t={t},v1={'0' * 64},v1={good},v0=ignored"
    assert verify_event(payload, header, SECRET).id == "evt_1"


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b'{"id": "evt_1"}', b'{"id": "evt_1", "type": "x", "created": 1, "data": {}}', b"\xff\xfe"],
)
def test_signed_but_unreadable_payload_is_refused(body: bytes) -> None:
    with pytest.raises(StripeWebhookError) as exc:
        verify_event(body, sign(body, SECRET) if body != b"\xff\xfe" else "t=1,v1=0", SECRET)
    assert not isinstance(exc.value, StripeSignatureError) or body == b"\xff\xfe"
