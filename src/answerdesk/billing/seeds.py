"""The plans a new instance starts with (the operator changes or adds them with `answerdesk plan`)."""

from __future__ import annotations

from typing import Any

# Free / Pro / Enterprise. Limits of None are unlimited. The migration that creates the plan table holds a
# copy of these rows, as they were then; this list seeds a plan table found empty at start-up.
DEFAULT_PLANS: list[dict[str, Any]] = [
    {
        "slug": "free",
        "name": "Free",
        "price_cents": 0,
        "answers_per_month": 100,
        "chunks_limit": 1_000,
        "seats_limit": 2,
        "feature_whmcs": False,
        "feature_live_chat": True,
        "feature_remove_branding": False,
        "feature_api_access": False,
        "sort_order": 10,
    },
    {
        "slug": "pro",
        "name": "Pro",
        "price_cents": 4_900,
        "answers_per_month": 5_000,
        "chunks_limit": 25_000,
        "seats_limit": 10,
        "feature_whmcs": True,
        "feature_live_chat": True,
        "feature_remove_branding": True,
        "feature_api_access": True,
        "sort_order": 20,
    },
    {
        "slug": "enterprise",
        "name": "Enterprise",
        "price_cents": 19_900,
        "answers_per_month": None,
        "chunks_limit": None,
        "seats_limit": None,
        "feature_whmcs": True,
        "feature_live_chat": True,
        "feature_remove_branding": True,
        "feature_api_access": True,
        "sort_order": 30,
    },
]
