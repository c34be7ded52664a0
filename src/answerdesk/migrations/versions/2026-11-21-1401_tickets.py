"""tickets

Revision ID: 6a1c0e7e0006
Revises: 5a1c0e7e0005
Create Date: 2026-11-21 14:01:00+00:00
"""

from collections.abc import Sequence

revision: str = "6a1c0e7e0006"
down_revision: str | None = "5a1c0e7e0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
