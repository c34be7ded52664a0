"""The interface billing depends on; :class:`StripeGateway` implements it over the official SDK."""

from __future__ import annotations

from typing import Protocol

from answerdesk.integrations.stripe.schemas import CheckoutSession, Invoice, PortalSession, Subscription


class BillingGateway(Protocol):
    async def create_customer(
        self, *, email: str, name: str, metadata: dict[str, str], idempotency_key: str | None = None
    ) -> str: ...

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
    ) -> CheckoutSession: ...

    async def create_portal_session(self, *, customer_id: str, return_url: str) -> PortalSession: ...

    async def list_invoices(self, *, customer_id: str, limit: int = 12) -> list[Invoice]: ...

    async def retrieve_subscription(self, subscription_id: str) -> Subscription: ...

    async def aclose(self) -> None: ...
