"""Plans (seeded Free / Pro / Enterprise), each organization's plan and billing period, usage per period

Revision ID: 9b2d1f8a0009
Revises: 8a1c0e7e0008
Create Date: 2026-12-07 04:45:00+00:00
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "9b2d1f8a0009"
down_revision: str | None = "8a1c0e7e0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The seeded plans as they were when this migration was written (billing/seeds.py may change later).
SEEDS = [
    ("free", "Free", 0, 100, 1_000, 2, False, True, False, False, 10),
    ("pro", "Pro", 4_900, 5_000, 25_000, 10, True, True, True, True, 20),
    ("enterprise", "Enterprise", 19_900, None, None, None, True, True, True, True, 30),
]


def upgrade() -> None:
    plan = op.create_table(
        "plan",
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("stripe_price_id", sa.String(length=255), nullable=True),
        sa.Column("answers_per_month", sa.Integer(), nullable=True),
        sa.Column("chunks_limit", sa.Integer(), nullable=True),
        sa.Column("seats_limit", sa.Integer(), nullable=True),
        sa.Column("feature_whmcs", sa.Boolean(), nullable=False),
        sa.Column("feature_live_chat", sa.Boolean(), nullable=False),
        sa.Column("feature_remove_branding", sa.Boolean(), nullable=False),
        sa.Column("feature_api_access", sa.Boolean(), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan")),
        sa.UniqueConstraint("slug", name=op.f("uq_plan_slug")),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        plan,
        [
            {
                "id": uuid.uuid4(),
                "created_at": now,
                "slug": slug,
                "name": name,
                "price_cents": price,
                "currency": "usd",
                "stripe_price_id": None,
                "answers_per_month": answers,
                "chunks_limit": chunks,
                "seats_limit": seats,
                "feature_whmcs": whmcs,
                "feature_live_chat": live,
                "feature_remove_branding": branding,
                "feature_api_access": api,
                "is_public": True,
                "sort_order": order,
            }
            for slug, name, price, answers, chunks, seats, whmcs, live, branding, api, order in SEEDS
        ],
    )
    op.create_table(
        "usage_period",
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answers_used", sa.Integer(), nullable=False),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_usage_period_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_period")),
        sa.UniqueConstraint(
            "organization_id", "period_start", name=op.f("uq_usage_period_organization_id_period_start")
        ),
    )
    with op.batch_alter_table("usage_period", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_usage_period_organization_id"), ["organization_id"], unique=False
        )
    # Existing organizations keep plan_id NULL: they follow ANSWERDESK_DEFAULT_PLAN (unlimited by default).
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("period_anchor", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("current_period_start", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_organization_plan_id"), ["plan_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_organization_plan_id_plan"), "plan", ["plan_id"], ["id"], ondelete="RESTRICT"
        )


def downgrade() -> None:
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_organization_plan_id_plan"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_organization_plan_id"))
        batch_op.drop_column("current_period_end")
        batch_op.drop_column("current_period_start")
        batch_op.drop_column("period_anchor")
        batch_op.drop_column("plan_id")
    with op.batch_alter_table("usage_period", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_period_organization_id"))
    op.drop_table("usage_period")
    op.drop_table("plan")
