"""Privacy (GDPR): organization exports (a zip made by a job, downloadable until it expires), erased tickets

Revision ID: 8a1c0e7e0p01
Revises: 9b2d1f8a0450
Create Date: 2026-12-07 04:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8a1c0e7e0p01"
down_revision: str | None = "9b2d1f8a0450"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organization_export",
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("storage_key", sa.String(length=500), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_organization_export_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_user_id"],
            ["user.id"],
            name=op.f("fk_organization_export_requested_by_user_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_export")),
    )
    with op.batch_alter_table("organization_export", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organization_export_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_organization_export_organization_id"), ["organization_id"], unique=False
        )
    op.create_table(
        "erased_ticket",
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_erased_ticket_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erased_ticket")),
        sa.UniqueConstraint(
            "organization_id",
            "source",
            "external_id",
            name=op.f("uq_erased_ticket_organization_id_source_external_id"),
        ),
    )
    with op.batch_alter_table("erased_ticket", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_erased_ticket_organization_id"), ["organization_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("erased_ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erased_ticket_organization_id"))
    op.drop_table("erased_ticket")
    with op.batch_alter_table("organization_export", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_export_organization_id"))
        batch_op.drop_index(batch_op.f("ix_organization_export_expires_at"))
    op.drop_table("organization_export")
