"""Stripe over the official SDK (async, on httpx): customers, Checkout, the Customer Portal, invoices.

No database and no business rules: each call returns our schemas or raises :class:`StripeError`.
``api_base`` points the SDK elsewhere (tests run localstripe on 127.0.0.1).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import stripe

from answerdesk.integrations.stripe.errors import StripeError
from answerdesk.integrations.stripe.schemas import CheckoutSession, Invoice, PortalSession, Subscription

T = TypeVar("T")


class StripeGateway:
    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        timeout: float = 20.0,
        max_network_retries: int = 2,
    ) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            http_client=self._http,
            # The SDK sends an idempotency key with each POST, so its retries never charge twice.
            max_network_retries=max_network_retries,
        )

    async def create_customer(
        self, *, email: str, name: str, metadata: dict[str, str], idempotency_key: str | None = None
    ) -> str:
        options: dict[str, Any] = {"idempotency_key": idempotency_key} if idempotency_key else {}
        customer = await _call(
            lambda: self._client.v1.customers.create_async(
                params={"email": email, "name": name, "metadata": metadata},
                options=options,  # type: ignore[arg-type]
            )
        )
        return str(customer.id)

    async def create_checkout_session(
        self,
        *,
        price_id: str,
        customer_id: str,
        client_reference_id: str,
        metadata: dict[str, str],
        success_url: str,
        cancel_url: str,
        idempotency_key: str | None = None,
    ) -> CheckoutSession:
        params: dict[str, Any] = {
            "mode": "subscription",
            "customer": customer_id,
            "line_items": [{"price": price_id, "quantity": 1}],
            "client_reference_id": client_reference_id,
            "metadata": metadata,
            # Carried by the subscription itself, so its own events name the organization too.
            "subscription_data": {"metadata": metadata},
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        options: dict[str, Any] = {"idempotency_key": idempotency_key} if idempotency_key else {}
        session = await _call(
            lambda: self._client.v1.checkout.sessions.create_async(params=params, options=options)  # type: ignore[arg-type]
        )
        return CheckoutSession.from_stripe(session.to_dict())

    async def create_portal_session(self, *, customer_id: str, return_url: str) -> PortalSession:
        session = await _call(
            lambda: self._client.v1.billing_portal.sessions.create_async(
                params={"customer": customer_id, "return_url": return_url}
            )
        )
        return PortalSession(id=str(session.id), url=str(session.url))

    async def list_invoices(self, *, customer_id: str, limit: int = 12) -> list[Invoice]:
        page = await _call(
            lambda: self._client.v1.invoices.list_async(params={"customer": customer_id, "limit": limit})
        )
        return [Invoice.from_stripe(invoice.to_dict()) for invoice in page.data]

    async def retrieve_subscription(self, subscription_id: str) -> Subscription:
        subscription = await _call(lambda: self._client.v1.subscriptions.retrieve_async(subscription_id))
        return Subscription.from_stripe(subscription.to_dict())

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]


async def _call(request: Callable[[], Awaitable[T]]) -> T:
    try:
        return await request()
    except stripe.AuthenticationError as exc:
        raise StripeError(
            "Stripe refused the API key (ANSWERDESK_STRIPE_SECRET_KEY).",
            code="authentication",
            status_code=401,
        ) from exc
    except stripe.APIConnectionError as exc:
        raise StripeError("Stripe could not be reached; try again in a moment.", code="connection") from exc
    except stripe.RateLimitError as exc:
        raise StripeError("Stripe is busy (rate limited); try again in a moment.", status_code=429) from exc
    except stripe.StripeError as exc:
        status = exc.http_status
        detail = (exc.user_message or "").strip() or f"HTTP {status}"
        if status is not None and status >= 500:
            message = f"Stripe failed to answer ({detail}); try again in a moment."
        else:
            message = f"Stripe refused the request: {detail}"
        raise StripeError(message, code=exc.code, status_code=status) from exc
