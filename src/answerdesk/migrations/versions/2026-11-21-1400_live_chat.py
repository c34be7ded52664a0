"""live chat

Revision ID: 5a1c0e7e0005
Revises: 0249a51deec1
Create Date: 2026-11-21 14:00:00+00:00
"""

from collections.abc import Sequence

revision: str = "5a1c0e7e0005"
down_revision: str | None = "0249a51deec1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
