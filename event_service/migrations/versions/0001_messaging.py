"""Outbox, inbox and idempotency keys.

Revision ID: 0001
Revises:
"""

from shared.sql import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
