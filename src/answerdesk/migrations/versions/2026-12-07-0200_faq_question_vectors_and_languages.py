"""FAQ question vectors on chunks; the customer's language on conversations and messages

Revision ID: 8a1c0e7e0008
Revises: 7a1c0e7e0007
Create Date: 2026-12-07 02:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8a1c0e7e0008"
down_revision: str | None = "7a1c0e7e0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chunk", schema=None) as batch_op:
        batch_op.add_column(sa.Column("question_embedding", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("chunk", schema=None) as batch_op:
        batch_op.drop_column("question_embedding")
