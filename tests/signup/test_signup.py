"""Sign-up: closed by default, open with or without e-mail confirmation, by invitation; limits and rules."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from answerdesk.auth.models import AuditLog, Membership, Role, User
from answerdesk.billing.schemas import PlanCreate, PlanUpdate
from answerdesk.billing.service import BillingService
from answerdesk.signup.models import SignupInvitation
from answerdesk.signup.service import VERIFY_SALT, SignupService
from answerdesk.tenants.models import Organization
from tests.conftest import TEST_SECRET, app_client
from tests.factories import login
from tests.fakes.smtp_server import SmtpServer
from tests.signup.support import link_in, sign_up, signup_app


async def test_closed_by_default_root_goes_to_admin_and_signup_is_404(client: httpx.AsyncClient) -> None:
    root = await client.get("/")
    assert root.status_code == 303 and root.headers["location"] == "/admin"
    assert (await client.get("/signup")).status_code == 404
    posted = await client.post("/signup", data={"email": "x@example.com"})
    assert posted.status_code == 404


async def test_open_signup_without_smtp_is_active_at_once(database_url: str, tmp_path: Path) -> None:
    async with signup_app(database_url, tmp_path) as app, app_client(app) as client:
        landing = await client.get("/")
        assert (
            landing.status_code == 200 and "Sign up" in landing.text and "/static/vendor/pico" in landing.text
        )
        form = await client.get("/signup")
        assert "active at once" in form.text

        response = await sign_up(client)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        assert (await login(client, "founder@newco.example", "a-long-enough-passphrase")).status_code == 303
        dashboard = await client.get("/admin")
        assert dashboard.status_code == 200 and "NewCo Support" in dashboard.text

        async with app.state.runtime.sessionmaker() as db:
            org = await db.scalar(sa.select(Organization).where(Organization.name == "NewCo Support"))
            assert org is not None and org.slug == "newco-support" and not org.is_suspended
            member = await db.scalar(sa.select(Membership).where(Membership.organization_id == org.id))
            assert (
                member is not None and member.role == Role.admin and member.user.email_verified_at is not None
            )
            actions = set(
                await db.scalars(sa.select(AuditLog.action).where(AuditLog.organization_id == org.id))
            )
            assert {"signup.completed", "member.added", "login.succeeded"} <= actions
            # Organizations made by sign-up start on the sign-up plan (free), not the self-hosted default.
            assert (await BillingService(db, app.state.runtime.settings).get_plan_for_org(org)).slug == "free"

        # A second company with the same name gets its own address.
        again = await sign_up(client, email="other@newco.example")
        assert again.status_code == 303
        async with app.state.runtime.sessionmaker() as db:
            slugs = set(await db.scalars(sa.select(Organization.slug)))
        assert "newco-support" in slugs and len(slugs) == 2


async def test_password_rules_duplicates_and_bad_input(database_url: str, tmp_path: Path) -> None:
    async with (
        signup_app(database_url, tmp_path, signup_limit_per_ip="50/hour") as app,
        app_client(app) as client,
    ):
        weak = await sign_up(client, password="password1")
        assert weak.status_code == 422 and "at least 10 characters" in weak.text
        common = await sign_up(client, password="1234567890")
        assert common.status_code == 422 and "too easy to guess" in common.text
        mismatch = await sign_up(client, confirm="something-else-entirely")
        assert mismatch.status_code == 422 and "do not match" in mismatch.text
        bad_email = await sign_up(client, email="not-an-address")
        assert bad_email.status_code == 422 and "E-mail" in bad_email.text
        blank_org = await sign_up(client, organization="   ")
        assert blank_org.status_code == 422
        # What was typed stays in the form, except the password.
        assert 'value="Fran Founder"' in weak.text and "a-long-enough" not in weak.text

        assert (await sign_up(client)).status_code == 303
        dup = await sign_up(client, organization="Another Co")
        assert dup.status_code == 409 and "already exists" in dup.text

        no_csrf = await client.post("/signup", data={"email": "a@example.com", "csrf_token": "forged"})
        assert no_csrf.status_code == 403

        async with app.state.runtime.sessionmaker() as db:
            # Nothing half-made was kept by the refused attempts: one organization, one user.
            assert await db.scalar(sa.select(sa.func.count()).select_from(Organization)) == 1
            assert await db.scalar(sa.select(sa.func.count()).select_from(User)) == 1


async def test_signup_is_rate_limited_per_ip(database_url: str, tmp_path: Path) -> None:
    async with signup_app(database_url, tmp_path, signup_limit_per_ip="2/hour") as app:
        async with app_client(app, ip="198.51.100.7") as client:
            assert (await sign_up(client, email="one@example.com", organization="One")).status_code == 303
            assert (await sign_up(client, email="two@example.com", organization="Two")).status_code == 303
            third = await sign_up(client, email="three@example.com", organization="Three")
            assert third.status_code == 429 and int(third.headers["retry-after"]) > 0
            assert "Too many sign-ups" in third.text
        async with app_client(app, ip="198.51.100.8") as other:
            assert (await sign_up(other, email="four@example.com", organization="Four")).status_code == 303


async def test_email_verification_by_link(database_url: str, tmp_path: Path, smtp: SmtpServer) -> None:
    async with signup_app(database_url, tmp_path, smtp) as app, app_client(app) as client:
        assert "send you a link" in (await client.get("/signup")).text
        response = await sign_up(client)
        assert response.status_code == 200 and "Check your e-mail" in response.text
        assert len(smtp.fake.received) == 1
        mail = smtp.fake.received[0]
        assert mail.recipients == ["founder@newco.example"]
        body = mail.message.get_content()
        link = link_in(body)
        assert link.startswith("http://testserver/signup/verify?token=")

        refused = await login(client, "founder@newco.example", "a-long-enough-passphrase")
        assert refused.status_code == 401 and "confirm your e-mail" in refused.text

        target = urlsplit(link)
        page = await client.get(f"{target.path}?{target.query}")
        assert page.status_code == 200 and "Confirm my e-mail address" in page.text
        token = target.query.removeprefix("token=")
        confirmed = await client.post("/signup/verify", data={"token": token})
        assert confirmed.status_code == 303 and confirmed.headers["location"].startswith("/login")
        # Single use: the same link now only says it is done, and changes nothing.
        again = await client.get(f"{target.path}?{target.query}")
        assert "already confirmed" in again.text
        assert (await login(client, "founder@newco.example", "a-long-enough-passphrase")).status_code == 303

        async with app.state.runtime.sessionmaker() as db:
            verified = await db.scalar(
                sa.select(sa.func.count()).where(AuditLog.action == "signup.email_verified")
            )
            assert verified == 1


async def test_bad_and_expired_links(database_url: str, tmp_path: Path, smtp: SmtpServer) -> None:
    async with signup_app(database_url, tmp_path, smtp) as app, app_client(app) as client:
        await sign_up(client)
        token = link_in(smtp.fake.received[0].message.get_content()).split("token=", 1)[1]
        tampered = await client.post("/signup/verify", data={"token": token[:-3] + "abc"})
        assert tampered.status_code == 422 and "not valid" in tampered.text
        # Signed with another secret: as good as forged.
        forged = URLSafeTimedSerializer("another-secret", salt=VERIFY_SALT).dumps({"u": "x", "e": "y"})
        assert (await client.post("/signup/verify", data={"token": forged})).status_code == 422

        # A link signed long ago (the serializer's clock set back) has expired.
        class PastSerializer(URLSafeTimedSerializer):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, **kwargs)  # type: ignore[arg-type]
                signer = self.make_signer(self.salt)
                signer.get_timestamp = lambda: int(time.time()) - 49 * 3600  # type: ignore[method-assign]
                self.make_signer = lambda salt=None: signer  # type: ignore[method-assign,assignment]

        async with app.state.runtime.sessionmaker() as db:
            user = await db.scalar(sa.select(User))
            assert user is not None
            old = PastSerializer(TEST_SECRET, salt=VERIFY_SALT).dumps({"u": str(user.id), "e": user.email})
        expired = await client.post("/signup/verify", data={"token": old})
        assert expired.status_code == 422 and "expired" in expired.text
        assert (await login(client, "founder@newco.example", "a-long-enough-passphrase")).status_code == 401


async def test_mail_server_refusing_keeps_nothing(
    database_url: str, tmp_path: Path, smtp: SmtpServer
) -> None:
    smtp.fake.refuse_recipient = True
    async with signup_app(database_url, tmp_path, smtp) as app, app_client(app) as client:
        response = await sign_up(client)
        assert response.status_code == 502 and "could not send the confirmation e-mail" in response.text
        async with app.state.runtime.sessionmaker() as db:
            assert await db.scalar(sa.select(sa.func.count()).select_from(Organization)) == 0
        smtp.fake.refuse_recipient = False
        assert (await sign_up(client)).status_code == 200  # the visitor simply tries again


async def test_invite_only_signup(database_url: str, tmp_path: Path) -> None:
    limit = "50/hour"
    async with (
        signup_app(database_url, tmp_path, signup="invite", signup_limit_per_ip=limit) as app,
        app_client(app) as client,
    ):
        runtime = app.state.runtime
        async with runtime.sessionmaker() as db:
            service = SignupService(db, runtime.settings, runtime.limiter, runtime.secret, None)
            _, code = await service.create_invitation(actor_id=None, note="Acme deal")
            bound_row, bound = await service.create_invitation(actor_id=None, email="boss@bound.example")
            revoked_row, revoked = await service.create_invitation(actor_id=None)
            await service.revoke_invitation(revoked_row.id, actor_id=None)
            await db.commit()
        assert code.startswith("adinv_") and len(code) > 25

        landing = await client.get("/")
        assert landing.status_code == 200 and "invitation" in landing.text
        form = await client.get("/signup", params={"invite": code})
        assert f'value="{code}"' in form.text

        missing = await sign_up(client)
        assert missing.status_code == 422 and "invitation" in missing.text
        wrong = await sign_up(client, invite="adinv_made-up")
        assert wrong.status_code == 422 and "not valid" in wrong.text
        assert (await sign_up(client, invite=revoked)).status_code == 422
        other_email = await sign_up(client, invite=bound, email="someone@else.example")
        assert other_email.status_code == 422 and "another e-mail" in other_email.text

        assert (await sign_up(client, invite=code)).status_code == 303
        reused = await sign_up(client, invite=code, email="second@newco.example", organization="Second")
        assert reused.status_code == 422 and "already been used" in reused.text
        assert (
            await sign_up(client, invite=bound, email="boss@bound.example", organization="Bound")
        ).status_code == (303)
        async with runtime.sessionmaker() as db:
            names = set(await db.scalars(sa.select(Organization.name)))
            assert names == {"NewCo Support", "Bound"}
            used = await db.get(SignupInvitation, bound_row.id)
            assert used is not None and used.used_at is not None


@pytest.mark.parametrize("mode", ["open", "invite"])
async def test_landing_page_shows_features_and_signup(database_url: str, tmp_path: Path, mode: str) -> None:
    async with signup_app(database_url, tmp_path, signup=mode) as app, app_client(app) as client:
        page = await client.get("/")
        assert page.status_code == 200
        for words in (
            "What Answerdesk does",
            "Grounded answers",
            "Pricing",
            'href="/signup"',
            'href="/login"',
        ):
            assert words in page.text
        assert "https://" not in page.text.split("<body", 1)[0]  # no CDN: every asset is ours
        # The pricing table is the configured plans: seeded Free / Pro / Enterprise with their limits.
        for plan in ("free", "pro", "enterprise"):
            assert f'data-plan="{plan}"' in page.text
        assert "$49" in page.text and "$0" in page.text and "5,000" in page.text and "Unlimited" in page.text
        assert "WHMCS connection" in page.text


async def test_pricing_follows_plan_changes_and_hides_custom_plans(database_url: str, tmp_path: Path) -> None:
    async with signup_app(database_url, tmp_path) as app, app_client(app) as client:
        runtime = app.state.runtime
        async with runtime.sessionmaker() as db:
            billing = BillingService(db, runtime.settings)
            await billing.update_plan("pro", PlanUpdate(price_cents=5900, answers_per_month=6000))
            await billing.create_plan(PlanCreate(slug="acme-deal", name="Acme custom", is_public=False))
            await db.commit()
        page = await client.get("/")
        assert "$59" in page.text and "6,000" in page.text and "$49" not in page.text
        assert "Acme custom" not in page.text


async def test_a_new_link_on_request_says_nothing_about_accounts(
    database_url: str, tmp_path: Path, smtp: SmtpServer
) -> None:
    async with (
        signup_app(database_url, tmp_path, smtp, signup_limit_per_ip="3/hour") as app,
        app_client(app) as client,
    ):
        await sign_up(client)
        first = link_in(smtp.fake.received[0].message.get_content())
        resent = await client.post("/signup/resend", data={"email": "Founder@NewCo.example"})
        assert resent.status_code == 200 and "If an unconfirmed account exists" in resent.text
        assert len(smtp.fake.received) == 2
        second = link_in(smtp.fake.received[1].message.get_content())
        unknown = await client.post("/signup/resend", data={"email": "nobody@newco.example"})
        assert unknown.status_code == 200 and unknown.text.replace(
            "nobody", "founder"
        ) == resent.text.replace("Founder@NewCo", "founder@newco")
        assert len(smtp.fake.received) == 2  # nobody to write to

        # Either link confirms; afterwards no more links go out for the confirmed address.
        token = second.split("token=", 1)[1]
        assert (await client.post("/signup/verify", data={"token": token})).status_code == 303
        assert (
            "already confirmed"
            in (await client.get(urlsplit(first).path, params={"token": first.split("=", 1)[1]})).text
        )
        async with app_client(app, ip="198.51.100.99") as other:
            await other.post("/signup/resend", data={"email": "founder@newco.example"})
        assert len(smtp.fake.received) == 2
        # Per address too: past three requests for one address, the next is refused whatever its IP.
        async with app_client(app, ip="198.51.100.100") as other:
            assert (
                await other.post("/signup/resend", data={"email": "founder@newco.example"})
            ).status_code == 200
            limited = await other.post("/signup/resend", data={"email": "founder@newco.example"})
        assert limited.status_code == 429 and "retry-after" in limited.headers
