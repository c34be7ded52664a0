"""tickets

Revision ID: 6a1c0e7e0006
Revises: 5a1c0e7e0005
Create Date: 2026-11-21 14:01:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6a1c0e7e0006"
down_revision: str | None = "5a1c0e7e0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket",
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("tid", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("external_priority", sa.String(length=16), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("department", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("classification", sa.JSON(), nullable=False),
        sa.Column("client_name", sa.String(length=200), nullable=False),
        sa.Column("client_email", sa.String(length=320), nullable=False),
        sa.Column("external_client_id", sa.Integer(), nullable=True),
        sa.Column("client_context", sa.JSON(), nullable=False),
        sa.Column("assigned_user_id", sa.Uuid(), nullable=True),
        sa.Column("awaiting_reply", sa.Boolean(), nullable=False),
        sa.Column("last_customer_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sentiment_label", sa.String(length=16), nullable=True),
        sa.Column("sentiment_score", sa.Float(), nullable=True),
        sa.Column("frustrated", sa.Boolean(), nullable=False),
        sa.Column("urgency_score", sa.Float(), nullable=False),
        sa.Column("external_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_user_id"],
            ["user.id"],
            name=op.f("fk_ticket_assigned_user_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_ticket_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket")),
        sa.UniqueConstraint(
            "organization_id",
            "source",
            "external_id",
            name=op.f("uq_ticket_organization_id_source_external_id"),
        ),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_org_awaiting", ["organization_id", "awaiting_reply"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_status"), ["status"], unique=False)

    op.create_table(
        "whmcs_connection",
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("identifier_sealed", sa.Text(), nullable=True),
        sa.Column("secret_sealed", sa.Text(), nullable=True),
        sa.Column("legacy_username", sa.String(length=200), nullable=True),
        sa.Column("legacy_password_md5_sealed", sa.Text(), nullable=True),
        sa.Column("accesskey_sealed", sa.Text(), nullable=True),
        sa.Column("credential_hint", sa.String(length=40), nullable=False),
        sa.Column("default_admin_username", sa.String(length=200), nullable=False),
        sa.Column("admin_usernames", sa.JSON(), nullable=False),
        sa.Column("watched_department_ids", sa.JSON(), nullable=False),
        sa.Column("ticket_status", sa.String(length=64), nullable=False),
        sa.Column("poll_interval_minutes", sa.Integer(), nullable=False),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("auto_update_ticket", sa.Boolean(), nullable=False),
        sa.Column("save_approved_as_faq", sa.Boolean(), nullable=False),
        sa.Column("auto_send", sa.JSON(), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("sync_cursor", sa.JSON(), nullable=True),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_error", sa.Text(), nullable=True),
        sa.Column("last_sync_counts", sa.JSON(), nullable=False),
        sa.Column("last_test_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_test_ok", sa.Boolean(), nullable=True),
        sa.Column("last_test_message", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_whmcs_connection_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whmcs_connection")),
        sa.UniqueConstraint("organization_id", name=op.f("uq_whmcs_connection_organization_id")),
    )
    with op.batch_alter_table("whmcs_connection", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_whmcs_connection_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "ticket_draft",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("final_text", sa.Text(), nullable=True),
        sa.Column("citations", sa.JSON(), nullable=False),
        sa.Column("trace", sa.JSON(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("instruction", sa.Text(), nullable=True),
        sa.Column("answers_message_id", sa.Uuid(), nullable=True),
        sa.Column("approved_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("approved_by", sa.String(length=320), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("admin_username", sa.String(length=200), nullable=True),
        sa.Column("set_status", sa.String(length=64), nullable=True),
        sa.Column("send_attempts", sa.Integer(), nullable=False),
        sa.Column("baseline_reply_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted_reply_id", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["approved_by_user_id"],
            ["user.id"],
            name=op.f("fk_ticket_draft_approved_by_user_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_ticket_draft_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_draft_ticket_id_ticket"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_draft")),
    )
    with op.batch_alter_table("ticket_draft", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_draft_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ticket_draft_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_draft_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_message",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("author", sa.String(length=16), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("author_user_id", sa.Uuid(), nullable=True),
        sa.Column("external_id", sa.String(length=32), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["user.id"],
            name=op.f("fk_ticket_message_author_user_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_ticket_message_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_message_ticket_id_ticket"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_message")),
        sa.UniqueConstraint("ticket_id", "external_id", name=op.f("uq_ticket_message_ticket_id_external_id")),
    )
    with op.batch_alter_table("ticket_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_message_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ticket_message_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_message_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_message_organization_id"))

    op.drop_table("ticket_message")
    with op.batch_alter_table("ticket_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_draft_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_draft_status"))
        batch_op.drop_index(batch_op.f("ix_ticket_draft_organization_id"))

    op.drop_table("ticket_draft")
    with op.batch_alter_table("whmcs_connection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_whmcs_connection_organization_id"))

    op.drop_table("whmcs_connection")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_status"))
        batch_op.drop_index(batch_op.f("ix_ticket_organization_id"))
        batch_op.drop_index("ix_ticket_org_awaiting")

    op.drop_table("ticket")
