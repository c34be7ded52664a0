"""Tickets remember the customer's language, detected when a draft is written

Revision ID: b1d4f3c50610
Revises: b1d4f3c50600
Create Date: 2026-12-07 06:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b1d4f3c50610"
down_revision: str | None = "b1d4f3c50600"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("language")
