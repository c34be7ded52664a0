"""Ticket categories: settings in both shapes, validation in words, the centroid choice with its keyword
fallback (real embedding model), and the cache of fitted classifiers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from answerdesk.kit.errors import ValidationFailed
from answerdesk.knowledge.embedding import Embedder, EmbeddingError, Vectors, load_embedder
from answerdesk.tickets.categories import (
    DEFAULT_CATEGORIES,
    MIN_SIMILARITY,
    Category,
    categories_of,
    categorise_ticket,
    choose_category,
    own_categories,
    validate_categories,
)
from tests.conftest import MODEL_CACHE

# Billing in every word but none of the default keywords (no "invoice", "payment", "refund", "charge"...).
DOUBLE_DEBIT = (
    "Two debits this month",
    "My bank statement shows you took the monthly amount twice. Please send one of them back.",
)


@pytest.fixture(scope="module")
def model() -> Embedder:
    return load_embedder("onnx", MODEL_CACHE)


def settings_with(categories: Any) -> dict[str, Any]:
    return {"tickets": {"categories": categories, "save_approved_as_faq": True}}


# --- Settings --------------------------------------------------------------------------------------


def test_old_shape_name_to_keywords_is_still_read() -> None:
    (billing,) = categories_of(settings_with({"Billing": ["Invoice", " refund ", "invoice"]}))
    assert billing == Category("Billing", "", ("invoice", "refund"), ())
    # Without a description the keywords describe the category for its centroid.
    assert billing.centroid_texts() == ["Billing: invoice, refund"]


def test_new_shape_with_descriptions_and_examples() -> None:
    stored = {
        "SHIPPING_ADDRESS": {
            "description": "Changing where   parcels go.",
            "keywords": ["Address"],
            "examples": ["I moved, please update my address", "", "I moved, please update my address"],
        },
        "email": ["smtp"],  # the two shapes may be mixed after a partial migration
    }
    shipping, email = categories_of(settings_with(stored))
    assert shipping == Category(
        "SHIPPING_ADDRESS", "Changing where parcels go.", ("address",), ("I moved, please update my address",)
    )
    assert shipping.centroid_texts() == ["SHIPPING ADDRESS: Changing where parcels go.", *shipping.examples]
    assert email.keywords == ("smtp",)


def test_malformed_or_missing_settings_fall_back_to_the_defaults() -> None:
    for settings in (
        None,
        {},
        {"tickets": None},
        {"tickets": {"categories": []}},
        settings_with({"  ": ["x"]}),
    ):
        assert categories_of(settings) == DEFAULT_CATEGORIES
        assert own_categories(settings) == ()
    (kept,) = categories_of(settings_with({"bad": 3, "ok": {"description": 7, "keywords": "not a list"}}))
    assert kept == Category("ok")


def test_every_default_category_has_a_description_and_keywords() -> None:
    assert [c.name for c in DEFAULT_CATEGORIES] == [
        "billing",
        "email",
        "domains",
        "ssl",
        "hosting",
        "account",
    ]
    assert all(c.description and c.keywords and not c.examples for c in DEFAULT_CATEGORIES)


# --- Validation ------------------------------------------------------------------------------------


def test_validation_tidies_what_staff_typed() -> None:
    (billing,) = validate_categories(
        [
            Category(
                "  Billing \n", " Money  matters ", ("Invoice", "", "INVOICE"), (" Where is my bill? ", "")
            )
        ]
    )
    assert billing == Category("Billing", "Money matters", ("invoice",), ("Where is my bill?",))
    assert validate_categories([]) == ()


def errors_of(raw: Sequence[Category]) -> list[tuple[list[Any], str]]:
    with pytest.raises(ValidationFailed) as caught:
        validate_categories(raw)
    assert caught.value.status_code == 422 and caught.value.code == "validation_error"
    return [(d["loc"], d["msg"]) for d in caught.value.details]


def test_bad_names_are_explained_per_category() -> None:
    errors = errors_of([Category("Billing"), Category(""), Category("x" * 61), Category("BILLING")])
    assert errors == [
        (["categories", 1, "name"], "Give the category a name."),
        (["categories", 2, "name"], "Use at most 60 characters for the name (this one has 61)."),
        (
            ["categories", 3, "name"],
            "Another category is already called 'BILLING' (names are compared ignoring case).",
        ),
    ]
    with pytest.raises(ValidationFailed, match=r"^categories\.1\.name: Give the category a name\.$"):
        validate_categories([Category("Billing"), Category(" ")])


def test_limits_on_counts_and_lengths() -> None:
    assert errors_of([Category(f"c{i}") for i in range(31)]) == [
        (["categories"], "At most 30 categories; this list has 31.")
    ]
    errors = errors_of(
        [
            Category("a", description="d" * 501),
            Category("b", examples=tuple(f"example {i}" for i in range(51))),
            Category("c", examples=("fine", "e" * 501)),
            Category("d", keywords=("k" * 101,)),
        ]
    )
    assert errors == [
        (
            ["categories", 0, "description"],
            "Use at most 500 characters for the description (this one has 501).",
        ),
        (["categories", 1, "examples"], "At most 50 examples; this category has 51."),
        (["categories", 2, "examples"], "Example 2 has 501 characters; use at most 500."),
        (["categories", 3, "keywords"], "Keyword 1 has 101 characters; use at most 100."),
    ]
    # At the limits exactly, all is well.
    full = Category("n" * 60, "d" * 500, tuple(f"k{i}" for i in range(50)), tuple(f"e{i}" for i in range(50)))
    assert len(validate_categories([full, *[Category(f"c{i}") for i in range(29)]])) == 30


# --- Choosing a category (real model) --------------------------------------------------------------


def test_semantic_billing_without_a_keyword_goes_by_the_centroid(model: Embedder) -> None:
    subject, message = DOUBLE_DEBIT
    chosen = choose_category(model, DEFAULT_CATEGORIES, subject, message)
    assert chosen.name == "billing"
    assert chosen.reason.startswith("category billing: closest to its description (0.")
    score = float(chosen.reason.rsplit("(", 1)[1].rstrip(")"))
    assert score >= MIN_SIMILARITY


def test_under_the_threshold_keywords_then_department_then_general_decide(model: Embedder) -> None:
    subject, message = DOUBLE_DEBIT
    chosen = choose_category(model, DEFAULT_CATEGORIES, subject, message, min_similarity=0.99)
    assert chosen.name == "general"
    assert chosen.reason.startswith("no category keyword; general (nearest category billing only 0.")
    assert chosen.reason.endswith(", under 0.99)")
    by_department = choose_category(
        model, DEFAULT_CATEGORIES, subject, message, department="Accounts", min_similarity=0.99
    )
    assert by_department.name == "accounts" and "WHMCS department 'Accounts'" in by_department.reason
    keyword = choose_category(
        model, DEFAULT_CATEGORIES, "Refund", message, department="Accounts", min_similarity=0.99
    )
    assert keyword.name == "billing" and keyword.reason.startswith("category billing: mentions refund")


def test_something_unrelated_stays_general(model: Embedder) -> None:
    chosen = choose_category(model, DEFAULT_CATEGORIES, "Sponsoring", "Would you sponsor our football club?")
    assert chosen.name == "general" and "under 0.20" in chosen.reason


def test_examples_teach_a_category_the_defaults_do_not_have(model: Embedder) -> None:
    own = (
        *DEFAULT_CATEGORIES,
        Category(
            "careers",
            "Job applications and questions about working for us.",
            examples=("Are you hiring?", "I would like to apply for the support engineer position."),
        ),
    )
    chosen = choose_category(model, own, "Open positions", "Do you have vacancies for a junior developer?")
    assert chosen.name == "careers" and "closest to its examples" in chosen.reason


def test_a_given_vector_is_used_instead_of_embedding_again(model: Embedder) -> None:
    counting = CountingEmbedder(model)
    vector = model.embed_query("\n".join(DOUBLE_DEBIT))
    first = choose_category(counting, DEFAULT_CATEGORIES, "", "", vector=vector)
    again = choose_category(counting, DEFAULT_CATEGORIES, "", "", vector=vector)
    assert first.name == again.name == "billing"
    assert counting.queries == 0


async def test_without_an_embedding_model_keywords_decide() -> None:
    chosen = await categorise_ticket(
        NoModelRuntime(),  # type: ignore[arg-type]
        DEFAULT_CATEGORIES,
        "Invoice",
        "Please send a copy",
    )
    assert chosen.name == "billing"
    assert chosen.reason == "category billing: mentions invoice (no embedding model: by keywords)"


def test_keywords_do_not_refit_because_they_do_not_move_a_centroid() -> None:
    a = Category("billing", "Money", ("invoice",))
    b = Category("billing", "Money", ("invoice", "refund"))
    assert a.centroid_texts() == b.centroid_texts()


# --- Test doubles of the Embedder interface --------------------------------------------------------


class CountingEmbedder:
    """The real model, counting single-text embeddings."""

    def __init__(self, model: Embedder) -> None:
        self.model = model
        self.dim, self.name = model.dim, model.name
        self.queries = 0

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors:
        return self.model.embed(texts, batch_size=batch_size)

    def embed_query(self, text: str) -> Vectors:
        self.queries += 1
        return self.model.embed_query(text)


class NoModelRuntime:
    """A runtime whose embedding model cannot be loaded (as when its package is not installed)."""

    async def embedder(self) -> Embedder:
        raise EmbeddingError("the embedding model package is not installed")
