"""Analytics: the per-conversation roll-up, its quarter-hour sums and mark, and indexes for period queries

Revision ID: a0c3e2b40010
Revises: 9c3e5a7b0450
Create Date: 2026-12-07 05:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a0c3e2b40010"
down_revision: str | None = "9c3e5a7b0450"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = (
    "message_count",
    "customer_messages",
    "staff_messages",
    "answers_llm",
    "answers_faq",
    "answers_extractive",
    "answers_fallback",
    "answers_no_answer",
    "answers_handoff",
    "answers_quota",
    "sentiment_negative",
    "sentiment_neutral",
    "sentiment_positive",
)

BUCKET_SUMS = (
    "conversations",
    "customer_messages",
    "answers_llm",
    "answers_faq",
    "answers_extractive",
    "answers_fallback",
    "answers_no_answer",
    "answers_handoff",
    "answers_quota",
    "handoffs",
    "staff_replied",
    "ended",
    "resolved",
    "ratings",
    "rating_sum",
    "rating_1",
    "rating_2",
    "rating_3",
    "rating_4",
    "rating_5",
    "sentiment_negative",
    "sentiment_neutral",
    "sentiment_positive",
)


def upgrade() -> None:
    op.create_table(
        "conversation_stat",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("handoff_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.Column("first_customer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_staff_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_conversation_stat_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_conversation_stat")),
    )
    with op.batch_alter_table("conversation_stat", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_stat_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            "ix_conversation_stat_org_started", ["organization_id", "started_at"], unique=False
        )
        batch_op.create_index("ix_conversation_stat_org_bucket", ["organization_id", "bucket"], unique=False)
        batch_op.create_index(
            "ix_conversation_stat_org_settled", ["organization_id", "settled", "started_at"], unique=False
        )
    op.create_table(
        "conversation_bucket",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in BUCKET_SUMS),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_conversation_bucket_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "bucket", "channel", name=op.f("pk_conversation_bucket")),
    )
    op.create_table(
        "analytics_rollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rolled_through", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_rollup")),
    )
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.create_index("ix_conversation_org_created", ["organization_id", "created_at"], unique=False)
        batch_op.create_index("ix_conversation_org_updated", ["organization_id", "updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_org_updated")
        batch_op.drop_index("ix_conversation_org_created")
    op.drop_table("analytics_rollup")
    op.drop_table("conversation_bucket")
    with op.batch_alter_table("conversation_stat", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_stat_org_settled")
        batch_op.drop_index("ix_conversation_stat_org_bucket")
        batch_op.drop_index("ix_conversation_stat_org_started")
        batch_op.drop_index(batch_op.f("ix_conversation_stat_organization_id"))
    op.drop_table("conversation_stat")
