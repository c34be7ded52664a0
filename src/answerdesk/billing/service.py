"""Plans and quotas: an organization's plan, its billing period, what it has used and what it may do."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from answerdesk.billing.models import FEATURE_LABELS, Feature, Plan
from answerdesk.billing.periods import monthly_period
from answerdesk.billing.repository import PlanRepository, UsageRepository
from answerdesk.billing.schemas import PlanCreate, PlanUpdate, UsageRead
from answerdesk.billing.seeds import DEFAULT_PLANS
from answerdesk.config import Settings
from answerdesk.kit.db import DatabaseUnavailable, autocommit_sessions, session_scope, utcnow
from answerdesk.kit.errors import Conflict, NotFound, PaymentRequired, ValidationFailed
from answerdesk.kit.jobs import JobQueue, enqueue_after_commit
from answerdesk.tenants.models import Organization

log = structlog.get_logger(__name__)

WARN_TASK = "billing.warn_usage"


@dataclass(frozen=True)
class AnswersWarning:
    used: int
    limit: int
    plan_name: str

    @property
    def exhausted(self) -> bool:
        return self.used >= self.limit

    @property
    def percent(self) -> int:
        return 100 if not self.limit else min(100, round(100 * self.used / self.limit))


class BillingService:
    def __init__(self, db: AsyncSession, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.plans = PlanRepository(db)
        self.usage_rows = UsageRepository(db)

    # -- plans ----------------------------------------------------------------------------------------

    async def list_plans(self, *, public_only: bool = False) -> Sequence[Plan]:
        """Every plan, cheapest first; ``public_only``: those for the pricing table."""
        plans = await self.plans.list()
        return [p for p in plans if p.is_public] if public_only else plans

    async def plan_for_price(self, stripe_price_id: str) -> Plan | None:
        """The plan a Stripe price belongs to (subscriptions name prices, not plans)."""
        return await self.plans.by_stripe_price(stripe_price_id)

    async def get_plan(self, slug: str) -> Plan:
        plan = await self.plans.by_slug(slug.strip().lower())
        if plan is None:
            known = ", ".join(p.slug for p in await self.plans.list()) or "none"
            raise NotFound(f"No plan with slug {slug!r} (plans: {known}).")
        return plan

    async def create_plan(self, body: PlanCreate) -> Plan:
        if await self.plans.by_slug(body.slug) is not None:
            raise Conflict(f"A plan with slug {body.slug!r} already exists.")
        values = body.model_dump(exclude_none=True)
        if "sort_order" not in values:  # after the existing plans
            values["sort_order"] = max((p.sort_order for p in await self.plans.list()), default=0) + 10
        plan = self.plans.add(Plan(**values))
        await self.db.flush()
        return plan

    async def update_plan(self, slug: str, change: PlanUpdate) -> Plan:
        plan = await self.get_plan(slug)
        values = change.model_dump(exclude_none=True, exclude={"unlimited"})
        both = set(values) & change.unlimited
        if both:
            raise ValidationFailed(f"Both a number and unlimited given for {', '.join(sorted(both))}.")
        for field, value in values.items():
            setattr(plan, field, value)
        for field in change.unlimited:
            setattr(plan, field, None)
        await self.db.flush()
        return plan

    async def seed_plans(self) -> bool:
        """Seeds Free / Pro / Enterprise into an empty plan table; True when it did."""
        if await self.plans.count():
            return False
        for values in DEFAULT_PLANS:
            self.plans.add(Plan(**values))
        await self.db.flush()
        return True

    # -- an organization's plan -----------------------------------------------------------------------

    async def organization_and_plan(self, organization_id: uuid.UUID) -> tuple[Organization, Plan]:
        """The organization and its plan (as ``get_plan_for_org`` chooses it) in one query."""
        found = await self.plans.organization_with_plan(organization_id, self.settings.default_plan)
        if found is None:
            raise NotFound("Organization not found.")
        org, plan = found
        if plan is None:
            log.warning("billing.default_plan_missing", slug=self.settings.default_plan)
            return org, unlimited_plan(self.settings.default_plan)
        return org, plan

    async def get_plan_for_org(self, org: Organization) -> Plan:
        """The organization's plan; one without its own follows the operator's default plan."""
        if org.plan_id is not None:
            plan = await self.plans.get(org.plan_id)
            if plan is not None:
                return plan
        plan = await self.plans.by_slug(self.settings.default_plan)
        if plan is None:
            # A default naming no plan must not stop every bot: unlimited, and the logs say why.
            log.warning("billing.default_plan_missing", slug=self.settings.default_plan)
            return unlimited_plan(self.settings.default_plan)
        return plan

    async def set_plan(self, org: Organization, slug: str) -> Plan:
        """Moves the organization to a plan. Its billing period stays where it was (usage is not reset)."""
        plan = await self.get_plan(slug)
        if org.period_anchor is None:
            org.period_anchor = org.created_at
        org.plan_id = plan.id
        await self.db.flush()
        return plan

    async def set_period(self, org: Organization, start: datetime, end: datetime) -> None:
        """A subscription's current period (Stripe's), which then decides the billing period; later periods
        follow monthly from its start until the next one is set."""
        if end <= start:
            raise ValidationFailed("A billing period must end after it starts.")
        org.current_period_start, org.current_period_end = start, end
        org.period_anchor = start
        await self.db.flush()

    @staticmethod
    def current_period(org: Organization, now: datetime | None = None) -> tuple[datetime, datetime]:
        now = now or utcnow()
        start, end = org.current_period_start, org.current_period_end
        if start is not None and end is not None and start <= now < end:
            return start, end
        return monthly_period(start or org.period_anchor or org.created_at, now)

    async def usage(self, org: Organization, now: datetime | None = None) -> UsageRead:
        plan = await self.get_plan_for_org(org)
        start, end = self.current_period(org, now)
        row = await self.usage_rows.get(org.id, start)
        return UsageRead(
            plan=plan.slug,
            period_start=start,
            period_end=end,
            answers_used=row.answers_used if row is not None else 0,
            answers_limit=plan.answers_per_month,
            chunks_used=await self.usage_rows.chunks(org.id),
            chunks_limit=plan.chunks_limit,
            seats_used=await self.usage_rows.seats(org.id),
            seats_limit=plan.seats_limit,
        )

    def warns(self, usage: UsageRead) -> bool:
        """Whether admins should see the usage banner (answers past the warning share)."""
        share = usage.answers_share
        return share is not None and share >= self.settings.usage_warning_ratio

    async def answers_warning(self, org: Organization) -> AnswersWarning | None:
        """What the admin banner says, when this period's answers are past the warning share (two small
        queries: it runs on every admin page)."""
        plan = await self.get_plan_for_org(org)
        limit = plan.answers_per_month
        if limit is None:
            return None
        row = await self.usage_rows.get(org.id, self.current_period(org)[0])
        used = row.answers_used if row is not None else 0
        if limit and used < limit * self.settings.usage_warning_ratio:
            return None
        return AnswersWarning(used=used, limit=limit, plan_name=plan.name)

    # -- limits and features --------------------------------------------------------------------------

    async def require_feature(self, organization_id: uuid.UUID, feature: Feature) -> None:
        plan = await self.get_plan_for_org(await self._org(organization_id))
        if not plan.has(feature):
            raise PaymentRequired(
                f"{FEATURE_LABELS[feature]} is not included in the {plan.name} plan. "
                "Upgrade your plan to use it.",
                details={"feature": str(feature), "plan": plan.slug},
            )

    async def has_feature(self, organization_id: uuid.UUID, feature: Feature) -> bool:
        return (await self.get_plan_for_org(await self._org(organization_id))).has(feature)

    async def _org(self, organization_id: uuid.UUID) -> Organization:
        org = await self.db.get(Organization, organization_id)
        if org is None:
            raise NotFound("Organization not found.")
        return org

    async def check_chunks(self, organization_id: uuid.UUID) -> None:
        """Refuses new knowledge once the plan's chunk limit is reached."""
        plan = await self.get_plan_for_org(await self._org(organization_id))
        if plan.chunks_limit is None:
            return
        used = await self.usage_rows.chunks(organization_id)
        if used >= plan.chunks_limit:
            raise PaymentRequired(
                f"Your knowledge base is full: {used:,} of the {plan.chunks_limit:,} passages the "
                f"{plan.name} plan includes. Delete documents or upgrade your plan to add more.",
                details={"limit": "chunks", "used": used, "allowed": plan.chunks_limit, "plan": plan.slug},
            )

    async def check_chunks_fit(self, organization_id: uuid.UUID, adding: int, replacing: int = 0) -> None:
        """Refuses a processed document whose passages would pass the plan's knowledge limit (the ones of
        the version it replaces are freed)."""
        plan = await self.get_plan_for_org(await self._org(organization_id))
        if plan.chunks_limit is None:
            return
        used = await self.usage_rows.chunks(organization_id) - replacing
        if used + adding > plan.chunks_limit:
            room = max(0, plan.chunks_limit - used)
            raise PaymentRequired(
                f"This document has {adding:,} passages; the knowledge limit of the {plan.name} plan "
                f"({plan.chunks_limit:,}) leaves room for {room:,}. Delete documents or upgrade your plan.",
                details={"limit": "chunks", "used": used, "allowed": plan.chunks_limit, "plan": plan.slug},
            )

    async def check_seats(self, organization_id: uuid.UUID) -> None:
        """Refuses a new (or reactivated) member once every seat of the plan is taken."""
        plan = await self.get_plan_for_org(await self._org(organization_id))
        if plan.seats_limit is None:
            return
        used = await self.usage_rows.seats(organization_id)
        if used >= plan.seats_limit:
            raise PaymentRequired(
                f"All {plan.seats_limit} seats of the {plan.name} plan are taken. Deactivate a member or "
                "upgrade your plan to invite more people.",
                details={"limit": "seats", "used": used, "allowed": plan.seats_limit, "plan": plan.slug},
            )


def unlimited_plan(slug: str) -> Plan:
    """A plan with no limits and every feature, not stored (the default plan is missing)."""
    return Plan(
        id=uuid.UUID(int=0),
        slug=slug,
        name=slug.title(),
        price_cents=0,
        currency="usd",
        answers_per_month=None,
        chunks_limit=None,
        seats_limit=None,
        feature_whmcs=True,
        feature_live_chat=True,
        feature_remove_branding=True,
        feature_api_access=True,
        is_public=False,
        sort_order=0,
    )


async def seed_plans(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """Start-up: an empty plan table (a new database the migration did not seed, a wiped one) gets the
    default plans. Two processes starting at once: the second one's insert fails on the slug, harmlessly."""
    try:
        async with session_scope(sessionmaker) as db:
            if await BillingService(db, settings).seed_plans():
                log.info("billing.plans_seeded", plans=[p["slug"] for p in DEFAULT_PLANS])
    except IntegrityError:
        pass
    except (DBAPIError, DatabaseUnavailable) as exc:  # e.g. not migrated yet: /readyz says so; serving starts
        log.warning("billing.seed_skipped", error=type(exc).__name__)


# -- the answer quota ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaPeriod:
    """What counting an organization's answer needs, known once it and its plan are read: the current
    period and the plan's limit for it (None: unlimited)."""

    organization_id: uuid.UUID
    start: datetime
    end: datetime
    limit: int | None


@dataclass(frozen=True)
class Reservation:
    """One AI answer counted before it is written; given back if the bot does not answer after all."""

    organization_id: uuid.UUID
    period_start: datetime
    used: int
    limit: int | None


class AnswerQuota:
    """Counts AI answers per organization and period, exactly, across processes.

    Every statement commits by itself (``autocommit_sessions``): the usage row is locked only while the
    database runs one conditional UPDATE, never across a round trip to us, let alone an answer being
    written. One organization's concurrent answers are counted one after another on that row, so this
    matters: held until a COMMIT, a burst of 100 messages queued ~1 s on it (bench/chat_concurrency.py).

    Answers asked for while a count of the same period runs are counted together next, in one UPDATE of
    ``n`` (when the limit leaves room for all of them; else one by one): a burst on one process then waits
    for a few statements on the row, not one per message. Keep one instance per process (the Runtime's)."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, jobs: JobQueue
    ) -> None:
        self.sessionmaker = autocommit_sessions(sessionmaker)
        self.settings = settings
        self.jobs = jobs
        self._waiting: dict[QuotaPeriod, list[asyncio.Future[Reservation | None]]] = {}
        self._counting: dict[QuotaPeriod, asyncio.Task[None]] = {}

    def period_of(self, org: Organization, plan: Plan) -> QuotaPeriod:
        start, end = BillingService.current_period(org)
        return QuotaPeriod(org.id, start, end, plan.answers_per_month)

    async def reserve(self, organization_id: uuid.UUID) -> Reservation | None:
        """Counts one answer; None when the plan's answers for this period are used up."""
        async with session_scope(self.sessionmaker) as db:
            org = await db.get(Organization, organization_id)
            if org is None:
                raise NotFound("Organization not found.")
            plan = await BillingService(db, self.settings).get_plan_for_org(org)
        return await self.reserve_in(self.period_of(org, plan))

    async def reserve_in(self, period: QuotaPeriod) -> Reservation | None:
        """``reserve`` for a period the caller already knows (the chat reads the organization and its plan
        with the customer's message)."""
        future: asyncio.Future[Reservation | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(period, []).append(future)
        counting = self._counting.get(period)
        if counting is None or counting.done():
            self._counting[period] = asyncio.create_task(self._count_waiting(period))
        return await future

    async def _count_waiting(self, period: QuotaPeriod) -> None:
        # No await between finding nobody waiting and returning: a caller who came meanwhile found this task
        # still running, and is counted by it.
        while waiting := self._waiting.pop(period, None):
            try:
                counts = await self._count(period, len(waiting))
            except Exception as exc:
                for future in waiting:
                    if not future.done():
                        future.set_exception(exc)
                continue
            gone = 0
            for future, used in zip(waiting, counts, strict=True):
                reservation = (
                    None
                    if used is None
                    else Reservation(period.organization_id, period.start, used, period.limit)
                )
                if future.done():  # its caller was cancelled while it was counted
                    gone += reservation is not None
                else:
                    future.set_result(reservation)
            if gone:
                await self._give_back(period, gone)
        self._counting.pop(period, None)

    async def _give_back(self, period: QuotaPeriod, answers: int) -> None:
        try:
            for _ in range(answers):
                await self.release(Reservation(period.organization_id, period.start, 0, period.limit))
        except Exception:  # the callers still waiting must be counted all the same
            log.exception("billing.quota_give_back_failed", organization_id=str(period.organization_id))

    async def _count(self, period: QuotaPeriod, n: int) -> list[int | None]:
        """Counts ``n`` answers: for each, the count it brought the period to, or None past the limit."""
        async with session_scope(self.sessionmaker) as db:
            usage = UsageRepository(db)
            used = await usage.consume(period.organization_id, period.start, period.limit, n)
            if used is None:
                # Used up, or the period's first answers: its row may not exist yet, or another request may
                # have made it just now. Make sure it exists, then count as everyone else does: that decides.
                await usage.ensure(period.organization_id, period.start, period.end)
                used = await usage.consume(period.organization_id, period.start, period.limit, n)
            counts: list[int | None]
            if used is not None:
                counts = list(range(used - n + 1, used + 1))
            else:  # no room for all of them: one by one, until the limit stops them
                counts = []
                for _ in range(n):
                    one = await usage.consume(period.organization_id, period.start, period.limit, 1)
                    counts.append(one)
                    if one is None:
                        counts += [None] * (n - len(counts))
                        break
            highest = max((c for c in counts if c is not None), default=None)
            if highest is None:
                return counts
            if (
                period.limit is not None
                and highest >= period.limit * self.settings.usage_warning_ratio
                and await usage.mark_warned(period.organization_id, period.start)
            ):
                enqueue_after_commit(
                    db,
                    self.jobs,
                    WARN_TASK,
                    job_id=f"{WARN_TASK}:{period.organization_id}:{period.start.isoformat()}",
                    organization_id=str(period.organization_id),
                    period_start=period.start.isoformat(),
                )
            return counts

    async def release(self, reservation: Reservation) -> None:
        async with session_scope(self.sessionmaker) as db:
            await UsageRepository(db).release(reservation.organization_id, reservation.period_start)
