"""An organization's ticket categories: their settings (old and new shape), validation, our defaults, and
choosing a ticket's category — the nearest embedding centroid, else keywords, else the WHMCS department,
else "general".

Stored under ``settings["tickets"]["categories"]`` as name → {"description", "keywords", "examples"};
the first shape, name → [keywords], is still read. A category's centroid is the mean vector of
"name: description" and its example tickets; a ticket whose best cosine similarity stays under
MIN_SIMILARITY fits no category well enough, and the keyword rules of tickets/classify.py decide.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.service import AuditService
from answerdesk.kit.errors import ValidationFailed
from answerdesk.knowledge.embedding import Embedder, EmbeddingError, Vectors
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService
from answerdesk.tickets.centroids import ClassifierCache
from answerdesk.tickets.classify import CategoryChoice, categorise

log = structlog.get_logger(__name__)

SETTINGS_GROUP = "tickets"
SETTINGS_KEY = "categories"
MAX_CATEGORIES = 30
MAX_NAME_CHARS = 60
MAX_TEXT_CHARS = 500  # a description, an example ticket
MAX_EXAMPLES = 50
MAX_KEYWORDS = 50
MAX_KEYWORD_CHARS = 100
MAX_TICKET_CHARS = 2000  # what is embedded of a ticket; the model reads 256 word pieces anyway
# Chosen on bench/ticket_classification.py: see its output in the docstring there.
MIN_SIMILARITY = 0.20


@dataclass(frozen=True)
class Category:
    name: str
    description: str = ""
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()

    def centroid_texts(self) -> list[str]:
        """What the category's centroid is the mean of: "name: description" and each example.

        Without a description (categories saved in the first, keywords-only shape) the keywords
        describe it; underscores in names ("SHIPPING_ADDRESS") read as spaces.
        """
        label = self.name.replace("_", " ")
        about = self.description or ", ".join(self.keywords)
        return [f"{label}: {about}" if about else label, *self.examples]

    def as_setting(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "keywords": list(self.keywords),
            "examples": list(self.examples),
        }


CategorySet = tuple[Category, ...]

DEFAULT_CATEGORIES: CategorySet = (
    Category(
        "billing",
        "Invoices, payments, refunds, charges, prices and renewing or upgrading a plan.",
        ("invoice", "payment", "refund", "charge", "billing", "renew", "renewal", "price", "credit card"),
    ),
    Category(
        "email",
        "E-mail accounts and mailboxes: sending or receiving mail, Outlook or phone setup, IMAP and SMTP "
        "settings, spam.",
        ("email", "e-mail", "mailbox", "smtp", "imap", "pop3", "outlook", "thunderbird", "spam", "webmail"),
    ),
    Category(
        "domains",
        "Domain names: registering, transferring or renewing a domain, DNS records and nameservers.",
        ("domain", "dns", "nameserver", "transfer", "registrar", "whois", "propagation", "epp"),
    ),
    Category(
        "ssl",
        "SSL/TLS certificates and HTTPS: 'not secure' warnings, installing or renewing a certificate.",
        ("ssl", "https", "certificate", "tls", "let's encrypt", "padlock", "insecure"),
    ),
    Category(
        "hosting",
        "Websites and web hosting: site errors or slowness, cPanel, WordPress, PHP, databases, FTP, disk "
        "space, backups.",
        ("website", "site", "cpanel", "wordpress", "php", "database", "mysql", "ftp", "disk", "500 error"),
    ),
    Category(
        "account",
        "The customer's account with us: logging in, passwords, two-factor authentication, contact details, "
        "closing the account.",
        ("password", "login", "log in", "2fa", "two-factor", "account", "cancel", "close my account"),
    ),
)

_SPACES = re.compile(r"\s+")


# --- Reading and validating ------------------------------------------------------------------------


def categories_of(org_settings: Mapping[str, Any] | None) -> CategorySet:
    """The organization's categories as stored (either shape), else ours."""
    return own_categories(org_settings) or DEFAULT_CATEGORIES


def own_categories(org_settings: Mapping[str, Any] | None) -> CategorySet:
    """What the organization stored, in either shape (empty: none); malformed entries are skipped."""
    out: list[Category] = []
    for name, value in _stored(org_settings).items():
        if isinstance(value, list):  # the first shape: name → keywords
            value = {"keywords": value}
        if not isinstance(value, dict) or not _one_line(str(name)):
            continue
        out.append(
            Category(
                name=_one_line(str(name)),
                description=_one_line(_str(value.get("description"))),
                keywords=_lines(value.get("keywords"), lower=True),
                examples=_lines(value.get("examples")),
            )
        )
    return tuple(out)


def validate_categories(raw: Sequence[Category]) -> CategorySet:
    """What staff typed, tidied (spaces trimmed, keywords lower-case, blank lines dropped) and checked.

    Raises ValidationFailed whose details say, per field, what is wrong: {"loc": ["categories", i,
    field], "msg": ...}. An empty list is valid: it means "use the defaults".
    """
    errors: list[dict[str, Any]] = []

    def fail(loc: list[str | int], msg: str) -> None:
        errors.append({"loc": ["categories", *loc], "msg": msg, "type": "value_error"})

    if len(raw) > MAX_CATEGORIES:
        fail([], f"At most {MAX_CATEGORIES} categories; this list has {len(raw)}.")
    seen: dict[str, int] = {}
    out: list[Category] = []
    for i, item in enumerate(raw):
        name = _one_line(item.name)
        if not name:
            fail([i, "name"], "Give the category a name.")
        elif len(name) > MAX_NAME_CHARS:
            fail(
                [i, "name"],
                f"Use at most {MAX_NAME_CHARS} characters for the name (this one has {len(name)}).",
            )
        elif name.casefold() in seen:
            fail(
                [i, "name"],
                f"Another category is already called {name!r} (names are compared ignoring case).",
            )
        seen.setdefault(name.casefold(), i)
        description = _one_line(item.description)
        if len(description) > MAX_TEXT_CHARS:
            fail(
                [i, "description"],
                f"Use at most {MAX_TEXT_CHARS} characters for the description "
                f"(this one has {len(description)}).",
            )
        keywords = _lines(item.keywords, lower=True)
        if len(keywords) > MAX_KEYWORDS:
            fail([i, "keywords"], f"At most {MAX_KEYWORDS} keywords; this category has {len(keywords)}.")
        for n, word in enumerate(keywords, 1):
            if len(word) > MAX_KEYWORD_CHARS:
                fail(
                    [i, "keywords"],
                    f"Keyword {n} has {len(word)} characters; use at most {MAX_KEYWORD_CHARS}.",
                )
                break
        examples = _lines(item.examples)
        if len(examples) > MAX_EXAMPLES:
            fail([i, "examples"], f"At most {MAX_EXAMPLES} examples; this category has {len(examples)}.")
        for n, example in enumerate(examples, 1):
            if len(example) > MAX_TEXT_CHARS:
                fail(
                    [i, "examples"],
                    f"Example {n} has {len(example)} characters; use at most {MAX_TEXT_CHARS}.",
                )
                break
        out.append(Category(name, description, keywords, examples))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValidationFailed(f"{where}: {first['msg']}", details=errors)
    return tuple(out)


def _stored(org_settings: Mapping[str, Any] | None) -> Mapping[str, Any]:
    group = (org_settings or {}).get(SETTINGS_GROUP)
    stored = group.get(SETTINGS_KEY) if isinstance(group, dict) else None
    return stored if isinstance(stored, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _lines(values: Any, *, lower: bool = False) -> tuple[str, ...]:
    """Non-blank entries, each on one line, duplicates dropped (keeping the first)."""
    if not isinstance(values, list | tuple):
        return ()
    cleaned = (_one_line(v) for v in values if isinstance(v, str))
    return tuple(dict.fromkeys(v.lower() if lower else v for v in cleaned if v))


# --- Storing ---------------------------------------------------------------------------------------


class CategoryService:
    """The organization's categories in its settings; every change is audited."""

    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.orgs = OrganizationService(db)

    async def get(self, organization_id: uuid.UUID) -> tuple[CategorySet, bool]:
        """(categories in use, whether they are the organization's own rather than our defaults)."""
        org = await self.orgs.get(organization_id)
        own = own_categories(org.settings)
        return own or DEFAULT_CATEGORIES, bool(own)

    async def replace(
        self,
        organization_id: uuid.UUID,
        raw: Sequence[Category],
        *,
        actor_id: uuid.UUID | None = None,
        ip: str = "",
    ) -> CategorySet:
        """Validates and stores ``raw``; an empty list goes back to the defaults. Returns what is in use."""
        categories = validate_categories(raw)
        org = await self.orgs.get(organization_id)
        before = categories_of(org.settings)
        group = dict((org.settings or {}).get(SETTINGS_GROUP) or {})  # other ticket settings are kept
        if categories:
            group[SETTINGS_KEY] = {c.name: c.as_setting() for c in categories}
        else:
            group.pop(SETTINGS_KEY, None)
        # A new dict, so SQLAlchemy sees the JSON column change.
        org.settings = {**(org.settings or {}), SETTINGS_GROUP: group}
        await self.db.flush()
        after = categories or DEFAULT_CATEGORIES
        AuditService(self.db).record(
            "ticket_categories.update",
            organization_id=organization_id,
            actor_id=actor_id,
            target="Ticket categories" if categories else "Ticket categories (back to the defaults)",
            ip=ip,
            details=_changes(before, after),
        )
        return after


def _changes(before: CategorySet, after: CategorySet) -> dict[str, list[str]]:
    old, new = {c.name: c for c in before}, {c.name: c for c in after}
    return {
        "added": [n for n in new if n not in old],
        "removed": [n for n in old if n not in new],
        "changed": [n for n in new if n in old and new[n] != old[n]],
    }


# --- Choosing a ticket's category ------------------------------------------------------------------

# One per process: a configuration is embedded once, then each ticket costs one dot product per category.
CLASSIFIERS = ClassifierCache()


async def categorise_ticket(
    runtime: Runtime,
    categories: CategorySet,
    subject: str,
    message: str,
    *,
    department: str = "",
    vector: Vectors | None = None,
) -> CategoryChoice:
    """The ticket's category with its reason. ``vector``: the ticket's embedding when the caller has it
    (subject + latest customer message), so it is not embedded twice."""
    try:
        embedder = await runtime.embedder()
    except EmbeddingError as exc:
        log.warning("tickets.categories.no_embedder", error=str(exc))
        chosen = by_keywords(categories, subject, message, department)
        return CategoryChoice(chosen.name, f"{chosen.reason} (no embedding model: by keywords)")
    return await asyncio.to_thread(
        choose_category, embedder, categories, subject, message, department=department, vector=vector
    )


def choose_category(
    embedder: Embedder,
    categories: CategorySet,
    subject: str,
    message: str,
    *,
    department: str = "",
    vector: Vectors | None = None,
    min_similarity: float = MIN_SIMILARITY,
) -> CategoryChoice:
    """Blocking (it may embed): the nearest centroid when it is close enough, else by keywords."""
    text = f"{subject}\n{message}".strip()[:MAX_TICKET_CHARS]
    if vector is None and not text:
        return by_keywords(categories, subject, message, department)
    classifier = CLASSIFIERS.get(embedder, {c.name: c.centroid_texts() for c in categories})
    query = embedder.embed_query(text) if vector is None else vector
    ((name, score),) = classifier.predict(np.asarray(query, dtype=np.float32).reshape(1, -1))
    if score >= min_similarity:
        category = next(c for c in categories if c.name == name)
        what = "examples" if category.examples else "description"
        return CategoryChoice(name, f"category {name}: closest to its {what} ({score:.2f})")
    chosen = by_keywords(categories, subject, message, department)
    return CategoryChoice(
        chosen.name, f"{chosen.reason} (nearest category {name} only {score:.2f}, under {min_similarity:.2f})"
    )


def by_keywords(categories: CategorySet, subject: str, message: str, department: str = "") -> CategoryChoice:
    return categorise(
        subject, message, categories={c.name: c.keywords for c in categories}, department=department
    )
