"""The `answerdesk` command: serve, migrate, and operator tasks on organizations, users and keys."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind, Role
from answerdesk.auth.origins import normalise_origin
from answerdesk.auth.service import ApiKeyService, MemberService
from answerdesk.billing.models import Plan
from answerdesk.billing.schemas import PlanCreate, PlanUpdate
from answerdesk.billing.service import BillingService
from answerdesk.config import Settings, get_settings
from answerdesk.kit.db import session_scope
from answerdesk.kit.errors import AppError
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService

app = typer.Typer(
    help="Answerdesk: grounded AI customer support.", no_args_is_help=True, pretty_exceptions_enable=False
)
org_app = typer.Typer(help="Organizations (tenants).", no_args_is_help=True)
user_app = typer.Typer(help="Users and their roles.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(user_app, name="user")
app.add_typer(apikey_app, name="apikey")
kb_app = typer.Typer(help="Knowledge base: ingest, search, list, delete, reindex.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
model_app = typer.Typer(help="The embedding model.", no_args_is_help=True)
app.add_typer(model_app, name="model")
plan_app = typer.Typer(help="Plans: prices, quotas and features.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")

T = TypeVar("T")


@app.callback()
def _quiet_logs(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show info logs")] = False,
) -> None:
    """Operator commands log warnings only (to stderr); `serve` and `worker` use the configured level."""
    from answerdesk.kit.logging import configure_logging

    configure_logging("INFO" if verbose else "WARNING")


WORKER_HEALTHCHECK_SECONDS = 60
# uvicorn closes an idle keep-alive connection after 5 s; a widget visitor (or a proxy) reusing it a moment
# later races the close and gets a reset (bench/load_test.py saw it). Longer than common proxies' 60 s.
KEEP_ALIVE_SECONDS = 75
DEMO_ORG_SLUG = "demo"
DEMO_ADMIN_EMAIL = "admin@demo.example.com"


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def with_runtime(work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Runs async work with the process's Runtime; AppErrors become one-line messages."""

    async def main() -> T:
        runtime = Runtime.build(get_settings())
        try:
            await _require_schema(runtime)
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except AppError as exc:
        raise fail(exc.message) from None


async def _require_schema(runtime: Runtime) -> None:
    """A never-migrated (or outdated) database gets one line saying what to run, not an SQL traceback."""
    from sqlalchemy.exc import DBAPIError

    from answerdesk.kit.migrate import current_revision, schema_problem

    try:
        async with runtime.engine.connect() as conn:
            problem = schema_problem(await conn.run_sync(current_revision))
    except (DBAPIError, OSError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise fail(f"cannot reach the database: {exc.__class__.__name__}: {first_line}") from None
    if problem is not None:
        raise fail(problem)


def in_session(work: Callable[[AsyncSession, Runtime], Awaitable[T]]) -> T:
    """One unit of work (one transaction) against the configured database."""

    async def main(runtime: Runtime) -> T:
        async with session_scope(runtime.sessionmaker) as db:
            return await work(db, runtime)

    return with_runtime(main)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Processes sharing the port (default: ANSWERDESK_WORKERS); >1 needs Redis"),
    ] = None,
) -> None:
    """Serve the API, the admin panel and the widget."""
    import uvicorn

    settings = get_settings()
    processes = workers or settings.workers
    bind_host, bind_port = host or settings.host, port or settings.port
    trusted = settings.forwarded_allow_ips
    common: dict[str, Any] = {
        "host": bind_host,
        "port": bind_port,
        # Behind a reverse proxy the client's address comes from X-Forwarded-For, from that proxy only:
        # otherwise every visitor would share the proxy's address, and its per-IP rate limits.
        "proxy_headers": trusted is not None,
        "forwarded_allow_ips": trusted,
        "log_level": settings.log_level.lower(),
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    }
    if processes == 1:
        from answerdesk.main import create_app

        uvicorn.run(create_app(settings), **common)
        return
    if not settings.redis_url:
        # Each process would keep its own event bus, rate limits and job runner: a customer's message
        # handled by one would never reach staff connected to another, and limits would multiply.
        raise fail(
            f"--workers {processes} needs ANSWERDESK_REDIS_URL: without Redis, live chat events, rate limits "
            "and background jobs stay inside each process. Set it, or serve with one worker."
        )
    if settings.is_sqlite:
        typer.echo(
            "warning: several workers on SQLite take turns to write (one writer at a time); "
            "use PostgreSQL for more than light traffic",
            err=True,
        )
    # Each worker process builds its own app (and Runtime) from the same environment.
    uvicorn.run(
        "answerdesk.main:create_app",
        factory=True,
        workers=processes,
        # A new worker answers the supervisor's pings only once it has imported this CLI and the app: on a
        # busy machine that takes longer than uvicorn's 5 s, and it would kill and respawn workers forever.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        **common,
    )


@app.command()
def worker(burst: Annotated[bool, typer.Option(help="Exit once the queue is empty")] = False) -> None:
    """Run background jobs from Redis (needs ANSWERDESK_REDIS_URL); run one or more next to `serve`."""
    from answerdesk.kit.error_reporting import configure_error_reporting
    from answerdesk.kit.jobs.worker import WorkerOptions, WorkerSetupError, run_worker
    from answerdesk.kit.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    configure_error_reporting(settings)
    options = WorkerOptions(
        concurrency=settings.job_concurrency, timeout_seconds=settings.job_timeout_seconds
    )
    try:
        stats = asyncio.run(run_worker(settings, burst=burst, options=options))
    except WorkerSetupError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"jobs: {stats.complete} done, {stats.failed} failed, {stats.retried} retried")


@app.command()
def migrate() -> None:
    """Apply database migrations up to the latest."""
    from answerdesk.kit.migrate import upgrade_to_head

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_to_head(settings.database_url)
    typer.echo("database is at the latest migration")


@app.command()
def backup(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Archive to write (.tar.gz)")] = None,
    folder: Annotated[
        Path | None, typer.Option("--dir", help="Write a timestamped archive into this folder")
    ] = None,
    keep: Annotated[
        int | None, typer.Option(min=1, help="With --dir: then remove all but the newest N archives")
    ] = None,
) -> None:
    """Back up the database and the uploaded originals into one archive; safe while Answerdesk runs."""
    from answerdesk.backups.service import BackupResult, BackupService, summary

    if (output is None) == (folder is None):
        raise fail("give either --output FILE or --dir FOLDER")
    if keep is not None and folder is None:
        raise fail("--keep goes with --dir")

    async def work(runtime: Runtime) -> BackupResult:
        service = BackupService(runtime)
        if output is not None:
            return await service.create(output)
        assert folder is not None
        return await service.create_in(folder, keep=keep)

    result = with_runtime(work)
    manifest = result.manifest
    typer.echo(f"wrote {result.path} ({result.size / 1024 / 1024:.1f} MB): {summary(manifest)}")
    where = (
        "archived" if manifest.originals_archived else f"listed (they stay in {manifest.storage_location})"
    )
    typer.echo(f"{len(manifest.originals)} original(s) {where}")
    if manifest.missing_originals:
        typer.echo(
            f"warning: {len(manifest.missing_originals)} original(s) were missing from storage", err=True
        )
    for old in result.removed:
        typer.echo(f"removed {old}")


@app.command()
def restore(
    archive: Annotated[Path, typer.Argument(help="An archive made by `answerdesk backup`")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that already has organizations")
    ] = False,
) -> None:
    """Restore an archive into an empty instance (stop Answerdesk first); rebuilds the search indexes."""
    from answerdesk.backups.service import BackupService, RestoreResult, summary

    async def work(runtime: Runtime) -> RestoreResult:
        return await BackupService(runtime).restore(archive, force=force)

    result = with_runtime(work)
    manifest = result.manifest
    typer.echo(f"restored {archive} (made {manifest.created_at:%Y-%m-%d %H:%M} UTC): {summary(manifest)}")
    if result.migrated:
        typer.echo(f"migrated the schema up from {manifest.alembic_revision}")
    typer.echo(f"{result.originals_restored} original(s) restored")
    indexed = f"{result.organizations_indexed} organization(s), {result.chunks_indexed} chunks"
    typer.echo(f"search indexes rebuilt: {indexed}")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)


@model_app.command("export")
def model_export() -> None:
    """Build the int8 ONNX model into MODEL_CACHE_DIR unless a valid one is there (images do it at build)."""
    from answerdesk.knowledge.embedding.base import EmbeddingError
    from answerdesk.knowledge.embedding.onnx_cache import ensure_int8_model

    settings = get_settings()
    try:
        cached = ensure_int8_model(settings.model_cache_dir or settings.data_dir / "models")
    except EmbeddingError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{'exported' if cached.rebuilt else 'up to date'}: {cached.path}")


@org_app.command("create")
def org_create(
    name: str,
    slug: Annotated[str | None, typer.Option(help="URL-safe identifier")] = None,
    plan: Annotated[str | None, typer.Option(help="Plan slug (default: ANSWERDESK_DEFAULT_PLAN)")] = None,
) -> None:
    """Create an organization; prints its slug."""

    async def work(db: AsyncSession, runtime: Runtime) -> str:
        org = await OrganizationService(db).create(name, slug)
        if plan is not None:
            billing = BillingService(db, runtime.settings)
            await billing.seed_plans()
            await billing.set_plan(org, plan)
        return org.slug

    typer.echo(in_session(work))


@org_app.command("set-plan")
def org_set_plan(
    org: Annotated[str, typer.Option(help="Organization slug")],
    plan: Annotated[str, typer.Option(help="Plan slug (see `answerdesk plan list`)")],
) -> None:
    """Move an organization to a plan; its billing period and this period's usage stay as they are."""

    async def work(db: AsyncSession, runtime: Runtime) -> str:
        billing = BillingService(db, runtime.settings)
        await billing.seed_plans()
        organization = await OrganizationService(db).by_slug(org)
        return (await billing.set_plan(organization, plan)).slug

    typer.echo(f"{org} is now on plan {in_session(work)}")


@org_app.command("list")
def org_list() -> None:
    """List organizations."""

    async def work(db: AsyncSession, _: Runtime) -> list[tuple[str, str]]:
        return [(o.slug, o.name) for o in await OrganizationService(db).list()]

    for slug, name in in_session(work):
        typer.echo(f"{slug}\t{name}")


# -- plans ------------------------------------------------------------------------------------------------

UNLIMITED = "unlimited"


def _limit(option: str, value: str | None, *, minimum: int = 0) -> int | str | None:
    """A limit option: a whole number, or "unlimited" (returned as such); None when not given."""
    if value is None:
        return None
    text = value.strip().lower().replace(",", "").replace("_", "")
    if text in (UNLIMITED, "none", ""):
        return UNLIMITED
    try:
        number = int(text)
    except ValueError:
        raise fail(f"{option} must be a whole number or 'unlimited', not {value!r}") from None
    if number < minimum:
        raise fail(f"{option} must be at least {minimum}, not {number}")
    return number


def _price_cents(value: str | None) -> int | None:
    """A price in currency units ("49", "49.00", "0") as cents."""
    if value is None:
        return None
    try:
        cents = round(float(value.strip().lstrip("$")) * 100)
    except ValueError:
        raise fail(f"--price must be an amount like 49 or 49.90, not {value!r}") from None
    if cents < 0:
        raise fail("--price must not be negative")
    return cents


def _format_limit(value: int | None) -> str:
    return UNLIMITED if value is None else f"{value:,}"


def _plan_line(plan: Plan, organizations: int) -> str:
    features = ",".join(f.value for f in plan.features) or "-"
    return "\t".join(
        [
            plan.slug,
            plan.name,
            f"{plan.price_cents / 100:.2f} {plan.currency.upper()}/month",
            f"answers={_format_limit(plan.answers_per_month)}",
            f"chunks={_format_limit(plan.chunks_limit)}",
            f"seats={_format_limit(plan.seats_limit)}",
            f"features={features}",
            f"stripe_price={plan.stripe_price_id or '-'}",
            "public" if plan.is_public else "hidden",
            f"orgs={organizations}",
        ]
    )


PlanAnswers = Annotated[
    str | None, typer.Option("--answers-per-month", help="AI answers a month, or 'unlimited'")
]
PlanChunks = Annotated[str | None, typer.Option("--chunks", help="Knowledge limit in chunks, or 'unlimited'")]
PlanSeats = Annotated[str | None, typer.Option("--seats", help="Members (seats), or 'unlimited'")]
PlanPriceId = Annotated[str | None, typer.Option("--price-id", help="Stripe price id ('' to clear)")]
PlanPrice = Annotated[str | None, typer.Option("--price", help="Monthly price shown, e.g. 49 or 49.90")]


def _plan_values(
    *,
    name: str | None,
    answers: str | None,
    chunks: str | None,
    seats: str | None,
    price_id: str | None,
    price: str | None,
    flags: dict[str, bool | None],
) -> tuple[dict[str, Any], set[str]]:
    """The options given, as plan fields, and the limits to make unlimited."""
    values: dict[str, Any] = {"name": name, "price_cents": _price_cents(price)}
    if price_id is not None:
        values["stripe_price_id"] = price_id.strip() or None
    unlimited: set[str] = set()
    for field, option, raw, minimum in (
        ("answers_per_month", "--answers-per-month", answers, 0),
        ("chunks_limit", "--chunks", chunks, 0),
        ("seats_limit", "--seats", seats, 1),
    ):
        limit = _limit(option, raw, minimum=minimum)
        if limit == UNLIMITED:
            unlimited.add(field)
        elif limit is not None:
            values[field] = limit
    values.update(flags)
    return {k: v for k, v in values.items() if v is not None or k == "stripe_price_id"}, unlimited


@plan_app.command("list")
def plan_list() -> None:
    """List plans: price, limits, features, Stripe price and how many organizations are on each."""

    async def work(db: AsyncSession, runtime: Runtime) -> list[str]:
        billing = BillingService(db, runtime.settings)
        await billing.seed_plans()
        return [_plan_line(p, await billing.plans.organizations_on(p.id)) for p in await billing.list_plans()]

    for line in in_session(work):
        typer.echo(line)


def _plan_flags(
    whmcs: bool | None, live_chat: bool | None, remove_branding: bool | None, api_access: bool | None,
    public: bool | None,
) -> dict[str, bool | None]:  # fmt: skip
    """The plan columns behind the CLI's feature switches (None: not given)."""
    return {
        "feature_whmcs": whmcs,
        "feature_live_chat": live_chat,
        "feature_remove_branding": remove_branding,
        "feature_api_access": api_access,
        "is_public": public,
    }


@plan_app.command("create")
def plan_create(
    slug: Annotated[str, typer.Argument(help="URL-safe identifier, e.g. 'business'")],
    name: Annotated[str, typer.Option(help="Name customers see")],
    answers_per_month: PlanAnswers,
    chunks: PlanChunks = None,
    seats: PlanSeats = None,
    price_id: PlanPriceId = None,
    price: PlanPrice = None,
    whmcs: Annotated[bool, typer.Option("--whmcs/--no-whmcs", help="WHMCS connection")] = False,
    live_chat: Annotated[bool, typer.Option("--live-chat/--no-live-chat", help="Live chat")] = True,
    remove_branding: Annotated[
        bool, typer.Option("--remove-branding/--no-remove-branding", help="Widget without branding")
    ] = False,
    api_access: Annotated[bool, typer.Option("--api-access/--no-api-access", help="Secret API keys")] = False,
    public: Annotated[bool, typer.Option("--public/--hidden", help="On the pricing table")] = True,
) -> None:
    """Create a plan. Limits not given are unlimited."""
    values, _ = _plan_values(
        name=name,
        answers=answers_per_month,
        chunks=chunks,
        seats=seats,
        price_id=price_id,
        price=price,
        flags=_plan_flags(whmcs, live_chat, remove_branding, api_access, public),
    )
    body = _validated(PlanCreate, {"slug": slug, **values})

    async def work(db: AsyncSession, runtime: Runtime) -> str:
        billing = BillingService(db, runtime.settings)
        await billing.seed_plans()
        plan = await billing.create_plan(body)
        return _plan_line(plan, 0)

    typer.echo(in_session(work))


@plan_app.command("update")
def plan_update(
    slug: Annotated[str, typer.Argument(help="The plan's slug")],
    name: Annotated[str | None, typer.Option(help="Name customers see")] = None,
    answers_per_month: PlanAnswers = None,
    chunks: PlanChunks = None,
    seats: PlanSeats = None,
    price_id: PlanPriceId = None,
    price: PlanPrice = None,
    whmcs: Annotated[bool | None, typer.Option("--whmcs/--no-whmcs", show_default=False)] = None,
    live_chat: Annotated[bool | None, typer.Option("--live-chat/--no-live-chat", show_default=False)] = None,
    remove_branding: Annotated[
        bool | None, typer.Option("--remove-branding/--no-remove-branding", show_default=False)
    ] = None,
    api_access: Annotated[
        bool | None, typer.Option("--api-access/--no-api-access", show_default=False)
    ] = None,
    public: Annotated[bool | None, typer.Option("--public/--hidden", show_default=False)] = None,
) -> None:
    """Change a plan; only the options given change. Organizations on it get the new limits at once."""
    values, unlimited = _plan_values(
        name=name,
        answers=answers_per_month,
        chunks=chunks,
        seats=seats,
        price_id=price_id,
        price=price,
        flags=_plan_flags(whmcs, live_chat, remove_branding, api_access, public),
    )
    clear_price_id = "stripe_price_id" in values and values["stripe_price_id"] is None
    values = {k: v for k, v in values.items() if v is not None}
    if not values and not unlimited and not clear_price_id:
        raise fail("nothing to change: give at least one option (see --help)")
    change = _validated(PlanUpdate, {**values, "unlimited": unlimited})

    async def work(db: AsyncSession, runtime: Runtime) -> str:
        billing = BillingService(db, runtime.settings)
        await billing.seed_plans()
        plan = await billing.update_plan(slug, change)
        if clear_price_id:
            plan.stripe_price_id = None
            await db.flush()
        return _plan_line(plan, await billing.plans.organizations_on(plan.id))

    typer.echo(in_session(work))


M = TypeVar("M", PlanCreate, PlanUpdate)


def _validated(model: type[M], values: dict[str, Any]) -> M:
    """Pydantic's complaint as one line naming the option."""
    from pydantic import ValidationError

    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "--" + str(first["loc"][0]).replace("_", "-") if first["loc"] else "value"
        raise fail(f"{where}: {first['msg']}") from None


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Login e-mail")],
    org: Annotated[str | None, typer.Option(help="Organization slug (optional with --operator)")] = None,
    role: Annotated[Role, typer.Option(help="admin or staff")] = Role.staff,
    password: Annotated[str | None, typer.Option(help="Default: a generated one, printed once")] = None,
    name: Annotated[str, typer.Option(help="Display name")] = "",
    operator: Annotated[
        bool, typer.Option("--operator", help="Instance operator: the operator console across organizations")
    ] = False,
) -> None:
    """Create a user in an organization, or an instance operator; prints a generated password once."""
    _check_email(email)
    if org is None and not operator:
        raise fail("--org is required (or --operator for an instance operator without an organization)")

    async def work(db: AsyncSession, runtime: Runtime) -> str | None:
        members = MemberService(db)
        if org is None:
            _, generated = await members.create_operator(email, name=name, password=password)
            return generated
        organization = await OrganizationService(db).by_slug(org)
        _, generated = await members.create(organization.id, email, role, name=name, password=password)
        if operator:
            await members.set_operator(email, True)
        return generated

    generated = in_session(work)
    where = f"({role}) in {org}" if org else "(instance operator)"
    typer.echo(
        f"created {email.strip().lower()} {where}{' and instance operator' if org and operator else ''}"
    )
    if generated:
        typer.echo(f"password: {generated}")


@user_app.command("operator")
def user_operator(
    email: Annotated[str, typer.Option(help="Login e-mail of an existing user")],
    revoke: Annotated[bool, typer.Option("--revoke", help="Take the operator role away")] = False,
) -> None:
    """Make an existing user an instance operator (or, with --revoke, no longer one)."""

    async def work(db: AsyncSession, runtime: Runtime) -> None:
        await MemberService(db, runtime.session_store).set_operator(email, not revoke)

    in_session(work)
    typer.echo(f"{email.strip().lower()} is {'no longer' if revoke else 'now'} an instance operator")


@user_app.command("add")
def user_add(
    org: Annotated[str, typer.Option(help="Organization slug")],
    email: Annotated[str, typer.Option(help="E-mail of an existing user")],
    role: Annotated[Role, typer.Option(help="admin or staff")] = Role.staff,
) -> None:
    """Give an existing user a role in another organization."""

    async def work(db: AsyncSession, _: Runtime) -> None:
        await MemberService(db).add_existing((await OrganizationService(db).by_slug(org)).id, email, role)

    in_session(work)
    typer.echo(f"added {email} ({role}) to {org}")


@user_app.command("set-password")
def user_set_password(
    email: Annotated[str, typer.Option(help="Login e-mail")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Set a user's password (ends their sessions)."""

    async def work(db: AsyncSession, runtime: Runtime) -> None:
        await MemberService(db, runtime.session_store).set_password(email, password)

    in_session(work)
    typer.echo("password changed")


@apikey_app.command("create")
def apikey_create(
    org: Annotated[str, typer.Option(help="Organization slug")],
    kind: Annotated[ApiKeyKind, typer.Option(help="secret (server-to-server) or public (widget)")],
    origin: Annotated[
        list[str] | None, typer.Option(help="Allowed origin for a public key; repeatable")
    ] = None,
    name: Annotated[str, typer.Option(help="A name to recognise the key by")] = "",
) -> None:
    """Create an API key; prints the key once."""
    try:
        origins = [normalise_origin(o) for o in origin or []]
    except ValueError as exc:
        raise fail(str(exc)) from None

    async def work(db: AsyncSession, _: Runtime) -> str:
        organization = await OrganizationService(db).by_slug(org)
        _key, token = await ApiKeyService(db).create(
            organization.id, kind=kind, name=name, allowed_origins=origins
        )
        return token

    typer.echo(in_session(work))


def _collect_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")))
        elif path.is_file():
            files.append(path)
        else:
            raise fail(f"{path} does not exist")
    return files


@kb_app.command("ingest")
def kb_ingest(
    org: Annotated[str, typer.Option(help="Organization slug")],
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursive)")],
    tags: Annotated[str, typer.Option(help="Tags for every document, comma separated")] = "",
) -> None:
    """Ingest files now, with a progress bar and a summary per file; exits 1 if any file failed."""
    from rich.progress import Progress

    from answerdesk.knowledge.schemas import parse_tags
    from answerdesk.knowledge.service import KnowledgeService
    from answerdesk.knowledge.tasks import run_ingest

    files = _collect_files(paths)
    if not files:
        raise fail("no files to ingest")
    try:
        tag_list = parse_tags(tags)
    except ValueError as exc:
        raise fail(str(exc)) from None

    async def work(runtime: Runtime) -> list[tuple[Path, str]]:
        results: list[tuple[Path, str]] = []
        async with session_scope(runtime.sessionmaker) as db:
            org_id = (await OrganizationService(db).by_slug(org)).id
        with Progress(transient=True) as progress:
            bar = progress.add_task("ingesting", total=len(files))
            for path in files:
                progress.update(bar, description=f"ingesting {path.name}")
                try:
                    async with session_scope(runtime.sessionmaker) as db:
                        service = KnowledgeService.of(db, runtime)
                        doc = await service.upload(
                            org_id, filename=path.name, data=path.read_bytes(), tags=tag_list
                        )
                        doc_id = doc.id
                    await run_ingest(runtime, org_id, doc_id)
                    async with session_scope(runtime.sessionmaker) as db:
                        done = await KnowledgeService.of(db, runtime).get(org_id, doc_id)
                        outcome = (
                            f"{done.chunk_count} chunks" if done.status == "ready" else f"error: {done.error}"
                        )
                except AppError as exc:
                    outcome = f"error: {exc.message}"
                results.append((path, outcome))
                progress.advance(bar)
        return results

    results = with_runtime(work)
    for path, outcome in results:
        typer.echo(f"{path}: {outcome}")
    failed = sum(1 for _, outcome in results if outcome.startswith("error"))
    typer.echo(f"{len(results) - failed} ingested, {failed} failed")
    if failed:
        raise typer.Exit(code=1)


@kb_app.command("search")
def kb_search(
    org: Annotated[str, typer.Option(help="Organization slug")],
    query: Annotated[str, typer.Argument(help="The question or words to look for")],
    k: Annotated[int, typer.Option(min=1, max=50, help="How many results")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Search the knowledge base the way the bot does (hybrid: embeddings + keywords)."""
    import json

    async def work(db: AsyncSession, runtime: Runtime) -> list[dict[str, object]]:
        org_id = (await OrganizationService(db).by_slug(org)).id
        found = await runtime.retriever.search(db, org_id, query, k=k)
        return [
            {
                "chunk_id": r.hit.chunk_id,
                "document_id": str(r.hit.document_id),
                "title": r.hit.title,
                "source": r.hit.source,
                "section": r.hit.section,
                "text": r.hit.text,
                "score": round(r.score, 6),
            }
            for r in found
        ]

    results = in_session(work)
    if as_json:
        typer.echo(json.dumps({"results": results}, ensure_ascii=False, indent=2))
        return
    if not results:
        typer.echo("no results")
    for n, r in enumerate(results, 1):
        where = f"{r['title']}" + (f" > {r['section']}" if r["section"] else "")
        snippet = " ".join(str(r["text"]).split())[:200]
        typer.echo(f"{n}. [{r['score']:.4f}] {where}\n   {snippet}")


@kb_app.command("list")
def kb_list(org: Annotated[str, typer.Option(help="Organization slug")]) -> None:
    """List documents with their status."""
    from answerdesk.knowledge.service import KnowledgeService

    async def work(db: AsyncSession, runtime: Runtime) -> list[tuple[str, str, str, str]]:
        org_id = (await OrganizationService(db).by_slug(org)).id
        docs = await KnowledgeService.of(db, runtime).list(org_id)
        return [
            (str(d.id), d.status, str(d.chunk_count), d.title + (f"  ({d.error})" if d.error else ""))
            for d in docs
        ]

    for row in in_session(work):
        typer.echo("\t".join(row))


@kb_app.command("delete")
def kb_delete(
    org: Annotated[str, typer.Option(help="Organization slug")],
    document_id: Annotated[str, typer.Argument(help="Document id (see kb list)")],
) -> None:
    """Delete a document: its original, chunks and vectors."""
    from answerdesk.knowledge.service import KnowledgeService

    try:
        doc_uuid = uuid.UUID(document_id)
    except ValueError:
        raise fail(f"{document_id!r} is not a document id") from None

    async def work(db: AsyncSession, runtime: Runtime) -> None:
        org_id = (await OrganizationService(db).by_slug(org)).id
        await KnowledgeService.of(db, runtime).delete(org_id, doc_uuid)

    in_session(work)
    typer.echo(f"deleted {document_id}")


@kb_app.command("reindex")
def kb_reindex(org: Annotated[str, typer.Option(help="Organization slug")]) -> None:
    """Rebuild the organization's search indexes from the database."""
    from answerdesk.knowledge.service import KnowledgeService

    async def work(db: AsyncSession, runtime: Runtime) -> int:
        org_id = (await OrganizationService(db).by_slug(org)).id
        count = await KnowledgeService.of(db, runtime).request_reindex(org_id)
        runtime.retriever.forget(org_id)
        await db.commit()
        await runtime.retriever.index_for(db, org_id)
        return count

    typer.echo(f"reindexed {in_session(work)} chunks")


@app.command()
def chat(
    org: Annotated[str, typer.Option(help="Organization slug")],
    question: Annotated[str, typer.Argument(help="The customer's question")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON reply")] = False,
) -> None:
    """Answer one question through the chat pipeline as a customer would get it (kept as a conversation)."""
    import json

    from answerdesk.auth.service import Principal
    from answerdesk.chat.models import Channel
    from answerdesk.chat.schemas import ConversationCreate
    from answerdesk.chat.service import ChatService, Reply

    async def work(runtime: Runtime) -> Reply:
        service = ChatService(runtime)
        async with session_scope(runtime.sessionmaker) as db:
            org_id = (await OrganizationService(db).by_slug(org)).id
            conversation, _ = await service.start(db, org_id, ConversationCreate(), Channel.api)
            caller = Principal(organization_id=org_id, kind="secret", scopes=frozenset({"chat"}))
            accepted = await service.accept(db, caller, conversation.id, None, question)
        return await service.answer(accepted)

    reply = with_runtime(work)
    body = reply.read.model_dump(mode="json")
    if as_json:
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    message = body["message"]
    typer.echo(message["content"])
    if body["citations"]:
        typer.echo("\nSources:")
        for c in body["citations"]:
            where = c["title"] + (f" > {c['section']}" if c["section"] else "")
            typer.echo(f"  [{c['n']}] {where} ({c['source']})")
    if body["suggestions"]:
        typer.echo("\nYou could also ask:")
        for suggestion in body["suggestions"]:
            typer.echo(f"  - {suggestion}")
    typer.echo(
        f"\n({message['mode']} answer, {message['latency_ms']} ms"
        + (", offers a human)" if body["handoff"] else ")")
    )


@app.command()
def sentiment(
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False,
    batch: Annotated[int, typer.Option(min=1, max=4096, help="Messages classified at once")] = 256,
) -> None:
    """Read one message per line on stdin; print its sentiment label, score and frustrated flag per line."""
    import json
    import sys
    from itertools import islice

    async def work(runtime: Runtime) -> None:
        analyzer = await runtime.sentiment()
        lines = (line.rstrip("\r\n") for line in sys.stdin)
        while chunk := list(islice(lines, batch)):
            for text, r in zip(chunk, await asyncio.to_thread(analyzer.analyze, chunk), strict=True):
                if as_json:
                    row = {
                        "text": text,
                        "label": r.label,
                        "score": r.score,
                        "frustrated": r.frustrated,
                        "wants_human": r.wants_human,
                        "reasons": list(r.reasons),
                    }
                    typer.echo(json.dumps(row, ensure_ascii=False))
                else:
                    typer.echo(f"{r.label}\t{r.score:+.3f}\t{'frustrated' if r.frustrated else '-'}")

    with_runtime(work)


@app.command()
def demo() -> None:
    """Create the demo organization and its admin if there is no organization yet."""

    async def create(db: AsyncSession, runtime: Runtime) -> tuple[str | None, Settings, uuid.UUID | None]:
        orgs = OrganizationService(db)
        if await orgs.count() > 0:
            return None, runtime.settings, None
        organization = await orgs.create("Northwind Hosting (demo)", DEMO_ORG_SLUG)
        _, password = await MemberService(db).create(
            organization.id, DEMO_ADMIN_EMAIL, Role.admin, name="Demo Admin"
        )
        return password, runtime.settings, organization.id

    async def work(runtime: Runtime) -> tuple[str | None, Settings, int, int, int]:
        from answerdesk.demo.seed import (
            ensure_demo_history,
            ensure_demo_tickets,
            ensure_demo_widget_key,
            seed_demo_knowledge,
        )

        async with session_scope(runtime.sessionmaker) as db:
            password, settings, org_id = await create(db, runtime)
        chunks = await seed_demo_knowledge(runtime, org_id) if org_id else 0
        await ensure_demo_widget_key(runtime)
        tickets = await ensure_demo_tickets(runtime)
        return password, settings, chunks, tickets, await ensure_demo_history(runtime)

    typer.echo(
        "setting up (the first start seeds the demo and prepares the embedding model: about a minute)..."
    )
    password, settings, chunks, tickets, history = with_runtime(work)
    if chunks:
        typer.echo(f"demo knowledge base: {chunks} passages from Northwind Hosting's help centre")
    if tickets:
        typer.echo(f"demo tickets: {tickets} example tickets with drafted replies in the review queue")
    if history:
        typer.echo(f"demo history: {history} conversations over the last 30 days, for the dashboard")
    typer.echo(f"\nAnswerdesk: {settings.base_url}/login")
    typer.echo(f"  demo site with the chat widget: {settings.base_url}/demo")
    if password:
        typer.echo(f"  demo admin: {DEMO_ADMIN_EMAIL}\n  password:   {password}   (shown once)")
    else:
        typer.echo(
            f"  log in with the password printed on first run, or set a new one:\n"
            f"  .venv/bin/answerdesk user set-password --email {DEMO_ADMIN_EMAIL}"
        )
    typer.echo("")


whmcs_app = typer.Typer(help="WHMCS connector: connect, test, sync.", no_args_is_help=True)
tickets_app = typer.Typer(help="Tickets: the review queue and approvals.", no_args_is_help=True)
app.add_typer(whmcs_app, name="whmcs")
app.add_typer(tickets_app, name="tickets")


@whmcs_app.command("connect")
def whmcs_connect(
    org: Annotated[str, typer.Option(help="Organization slug")],
    url: Annotated[str, typer.Option(help="WHMCS address, e.g. https://billing.example.com")],
    identifier: Annotated[str, typer.Option(help="API credential identifier")],
    secret: Annotated[str, typer.Option(help="API credential secret (stored encrypted)")],
    accesskey: Annotated[str | None, typer.Option(help="API access key (bypasses the IP allow-list)")] = None,
    admin_username: Annotated[
        str | None, typer.Option(help="WHMCS admin username replies are attributed to by default")
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="Time zone of the WHMCS server, e.g. Europe/Berlin (WHMCS dates carry none); default UTC"
        ),
    ] = None,
) -> None:
    """Save the organization's WHMCS connection (secrets encrypted) and test it."""
    from answerdesk.kit.timezones import canonical_timezone
    from answerdesk.tickets.connections import ConnectionService, record_test, run_test
    from answerdesk.tickets.schemas import WhmcsConnectionUpdate

    if timezone is not None:
        try:
            timezone = canonical_timezone(timezone)
        except ValueError as exc:
            raise fail(str(exc)) from None

    async def work(runtime: Runtime) -> tuple[bool, str, str]:
        async with session_scope(runtime.sessionmaker) as db:
            org_id = (await OrganizationService(db).by_slug(org)).id
            body = WhmcsConnectionUpdate(
                url=url,
                identifier=identifier,
                secret=secret,
                accesskey=accesskey,
                default_admin_username=admin_username,
                timezone=timezone,
            )
            service = ConnectionService(db, runtime)
            spec = service.spec(await service.save(org_id, body))
        check = await run_test(runtime, spec)
        async with session_scope(runtime.sessionmaker) as db:
            await record_test(db, await ConnectionService(db, runtime).get(org_id), check)
        return check.ok, check.message, spec.timezone

    ok, message, zone = with_runtime(work)
    typer.echo(f"saved the WHMCS connection of {org} (WHMCS dates read in {zone})")
    typer.echo(("ok: " if ok else "test failed: ") + message)
    if not ok:
        raise typer.Exit(code=1)


@whmcs_app.command("test")
def whmcs_test(org: Annotated[str, typer.Option(help="Organization slug")]) -> None:
    """Test the stored connection: IP allow-list, credentials, and every API action we need."""
    from answerdesk.tickets.connections import ConnectionService, record_test, run_test

    async def work(runtime: Runtime) -> tuple[bool, str]:
        async with session_scope(runtime.sessionmaker) as db:
            org_id = (await OrganizationService(db).by_slug(org)).id
            service = ConnectionService(db, runtime)
            spec = service.spec(await service.get(org_id))
        check = await run_test(runtime, spec)
        async with session_scope(runtime.sessionmaker) as db:
            await record_test(db, await ConnectionService(db, runtime).get(org_id), check)
        return check.ok, check.message

    ok, message = with_runtime(work)
    typer.echo(("ok: " if ok else "failed: ") + message)
    if not ok:
        raise typer.Exit(code=1)


@whmcs_app.command("sync")
def whmcs_sync(
    org: Annotated[str, typer.Option(help="Organization slug")],
    draft: Annotated[bool, typer.Option(help="Draft replies for tickets awaiting one")] = True,
) -> None:
    """Run one sync now and print what it did."""
    from answerdesk.tickets.drafting import draft_reply
    from answerdesk.tickets.sync import sync_whmcs

    async def work(runtime: Runtime) -> tuple[dict[str, object], int]:
        async with session_scope(runtime.sessionmaker) as db:
            org_id = (await OrganizationService(db).by_slug(org)).id
        run = await sync_whmcs(runtime, org_id)
        drafted = 0
        for ticket_id in run.needs_draft if draft else []:
            drafted += await draft_reply(runtime, org_id, ticket_id) is not None
        return run.report.model_dump(), drafted

    report, drafted = with_runtime(work)
    typer.echo(
        f"listed {report['listed']} tickets in {report['pages']} pages: {report['created']} new, "
        f"{report['updated']} updated, {report['unchanged']} unchanged, {report['refreshed']} re-read; "
        f"{report['messages_added']} messages added; {report['requests']} WHMCS requests "
        f"in {report['seconds']}s"
    )
    if draft:
        typer.echo(f"drafted {drafted} replies")


@tickets_app.command("list")
def tickets_list(
    org: Annotated[str, typer.Option(help="Organization slug")],
    status: Annotated[str | None, typer.Option(help="Only this status")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many")] = 50,
) -> None:
    """The review queue, most urgent first."""
    import json

    from answerdesk.tickets.repository import TicketFilter
    from answerdesk.tickets.service import TicketService

    async def work(db: AsyncSession, runtime: Runtime) -> list[dict[str, object]]:
        org_id = (await OrganizationService(db).by_slug(org)).id
        page = await TicketService(db, runtime).queue(org_id, TicketFilter(status=status), limit=limit)
        return [t.model_dump(mode="json") for t in page.items]

    items = in_session(work)
    if as_json:
        typer.echo(json.dumps({"tickets": items}, ensure_ascii=False, indent=2))
        return
    if not items:
        typer.echo("no tickets")
    for t in items:
        typer.echo(
            f"{t['id']}\t{t['source']}:{t['tid']}\t{t['priority']}\t{t['status']}\t"
            f"{t['category'] or '-'}\t{t['draft_status'] or '-'}\t{t['subject']}"
        )


@tickets_app.command("approve")
def tickets_approve(
    org: Annotated[str, typer.Option(help="Organization slug")],
    ticket_id: Annotated[str, typer.Argument(help="Ticket id (see tickets list)")],
    as_: Annotated[str | None, typer.Option("--as", help="E-mail of the approving staff member")] = None,
    message: Annotated[str | None, typer.Option(help="Send this text instead of the draft")] = None,
) -> None:
    """Approve the ticket's draft (or send --message) exactly once; exits 1 if it was not delivered."""
    from answerdesk.tickets.sending import Approver
    from answerdesk.tickets.service import approve_and_send, approver_by_email

    try:
        ticket_uuid = uuid.UUID(ticket_id)
    except ValueError:
        raise fail(f"{ticket_id!r} is not a ticket id") from None

    async def work(db: AsyncSession, runtime: Runtime) -> tuple[str, str | None]:
        org_id = (await OrganizationService(db).by_slug(org)).id
        approver = await approver_by_email(db, org_id, as_) if as_ else Approver(label="cli")
        draft = await approve_and_send(db, runtime, org_id, ticket_uuid, approver, text=message)
        return draft.status, draft.error

    status, error = in_session(work)
    if status != "sent":
        raise fail(f"not sent ({status}): {error}")
    typer.echo("sent")


def _check_email(email: str) -> None:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise fail(f"invalid e-mail {email!r}: {exc}") from None


if __name__ == "__main__":
    app()
