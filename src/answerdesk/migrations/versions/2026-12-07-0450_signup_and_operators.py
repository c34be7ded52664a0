"""Sign-up and operators: e-mail verification and the operator flag on users, suspension on organizations,
invitation codes

Revision ID: 9c3e5a7b0450
Revises: 9c3e2a7b0010
Create Date: 2026-12-07 04:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c3e5a7b0450"
down_revision: str | None = "9c3e2a7b0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("is_operator", sa.Boolean(), server_default=sa.false(), nullable=False))
    # Everyone who could log in before keeps logging in: their address counts as confirmed.
    op.execute(sa.text('UPDATE "user" SET email_verified_at = created_at'))
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("suspended_reason", sa.String(length=300), server_default="", nullable=False)
        )
    op.create_table(
        "signup_invitation",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by_organization_id", sa.Uuid(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_signup_invitation_created_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["used_by_organization_id"],
            ["organization.id"],
            name=op.f("fk_signup_invitation_used_by_organization_id_organization"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_invitation")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_signup_invitation_code_hash")),
    )


def downgrade() -> None:
    op.drop_table("signup_invitation")
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_column("suspended_reason")
        batch_op.drop_column("suspended_at")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("is_operator")
        batch_op.drop_column("email_verified_at")
