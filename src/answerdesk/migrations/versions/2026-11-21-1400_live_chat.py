"""live chat

Revision ID: 5a1c0e7e0005
Revises: 0249a51deec1
Create Date: 2026-11-21 14:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a1c0e7e0005"
down_revision: str | None = "0249a51deec1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("customer_seen_seq", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("staff_seen_seq", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_column("staff_seen_seq")
        batch_op.drop_column("customer_seen_seq")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("waiting_since")
