"""Drop the `inbox` table of revision 0001: no consumer ever used it (consumers dedupe by
their own unique indexes and version guards).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP TABLE IF EXISTS inbox")


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
