"""The `answerdesk` command: serve, migrate, and operator tasks on organizations, users and keys."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind, Role
from answerdesk.auth.origins import normalise_origin
from answerdesk.auth.service import ApiKeyService, MemberService
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

T = TypeVar("T")
DEMO_ORG_SLUG = "demo"
DEMO_ADMIN_EMAIL = "admin@demo.example.com"


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def in_session(work: Callable[[AsyncSession, Runtime], Awaitable[T]]) -> T:
    """Runs one unit of work against the configured database; AppErrors become one-line messages."""

    async def main() -> T:
        runtime = Runtime.build(get_settings())
        try:
            async with session_scope(runtime.sessionmaker) as db:
                return await work(db, runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except AppError as exc:
        raise fail(exc.message) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
) -> None:
    """Serve the API, the admin panel and the widget."""
    import uvicorn

    from answerdesk.main import create_app

    settings = get_settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        proxy_headers=False,
        log_level=settings.log_level.lower(),
    )


@app.command()
def migrate() -> None:
    """Apply database migrations up to the latest."""
    from answerdesk.kit.migrate import upgrade_to_head

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_to_head(settings.database_url)
    typer.echo("database is at the latest migration")


@org_app.command("create")
def org_create(
    name: str, slug: Annotated[str | None, typer.Option(help="URL-safe identifier")] = None
) -> None:
    """Create an organization; prints its slug."""

    async def work(db: AsyncSession, _: Runtime) -> str:
        return (await OrganizationService(db).create(name, slug)).slug

    typer.echo(in_session(work))


@org_app.command("list")
def org_list() -> None:
    """List organizations."""

    async def work(db: AsyncSession, _: Runtime) -> list[tuple[str, str]]:
        return [(o.slug, o.name) for o in await OrganizationService(db).list()]

    for slug, name in in_session(work):
        typer.echo(f"{slug}\t{name}")


@user_app.command("create")
def user_create(
    org: Annotated[str, typer.Option(help="Organization slug")],
    email: Annotated[str, typer.Option(help="Login e-mail")],
    role: Annotated[Role, typer.Option(help="admin or staff")] = Role.staff,
    password: Annotated[str | None, typer.Option(help="Default: a generated one, printed once")] = None,
    name: Annotated[str, typer.Option(help="Display name")] = "",
) -> None:
    """Create a user in an organization; prints the password when it was generated."""
    _check_email(email)

    async def work(db: AsyncSession, runtime: Runtime) -> str | None:
        organization = await OrganizationService(db).by_slug(org)
        _, generated = await MemberService(db).create(
            organization.id, email, role, name=name, password=password
        )
        return generated

    generated = in_session(work)
    typer.echo(f"created {email.strip().lower()} ({role}) in {org}")
    if generated:
        typer.echo(f"password: {generated}")


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


@app.command()
def demo() -> None:
    """Create the demo organization and its admin if there is no organization yet."""

    async def work(db: AsyncSession, runtime: Runtime) -> tuple[str | None, Settings]:
        orgs = OrganizationService(db)
        if await orgs.count() > 0:
            return None, runtime.settings
        organization = await orgs.create("Demo Hosting", DEMO_ORG_SLUG)
        _, password = await MemberService(db).create(
            organization.id, DEMO_ADMIN_EMAIL, Role.admin, name="Demo Admin"
        )
        return password, runtime.settings

    password, settings = in_session(work)
    typer.echo(f"\nAnswerdesk: {settings.base_url}/login")
    if password:
        typer.echo(f"  demo admin: {DEMO_ADMIN_EMAIL}\n  password:   {password}   (shown once)")
    else:
        typer.echo(
            f"  log in with the password printed on first run, or set a new one:\n"
            f"  .venv/bin/answerdesk user set-password --email {DEMO_ADMIN_EMAIL}"
        )
    typer.echo("")


def _check_email(email: str) -> None:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise fail(f"invalid e-mail {email!r}: {exc}") from None


if __name__ == "__main__":
    app()
