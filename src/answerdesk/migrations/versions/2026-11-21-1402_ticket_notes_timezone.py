"""ticket notes pushed to WHMCS, per-connection time zone, background drafting marker

Revision ID: 7a1c0e7e0007
Revises: 6a1c0e7e0006
Create Date: 2026-11-21 14:02:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a1c0e7e0007"
down_revision: str | None = "6a1c0e7e0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("whmcs_connection", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=False, server_default="UTC"))
    with op.batch_alter_table("ticket_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("push_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("push_error", sa.Text(), nullable=True))
        batch_op.create_index("ix_ticket_message_push_status", ["push_status"], unique=False)
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drafting_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("drafting_instruction", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("drafting_instruction")
        batch_op.drop_column("drafting_since")
    with op.batch_alter_table("ticket_message", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_message_push_status")
        batch_op.drop_column("push_error")
        batch_op.drop_column("push_status")
    with op.batch_alter_table("whmcs_connection", schema=None) as batch_op:
        batch_op.drop_column("timezone")
