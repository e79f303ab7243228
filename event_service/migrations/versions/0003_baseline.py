"""The event service's schema: the outbox and idempotency keys, and the events table with its
CHECK constraints, the last line of defence against overselling.

Revision ID: 0003
Revises:
"""

# Squashed: this one revision replaces revisions 0001 (messaging tables), 0002 (events) and
# 0003 (drop inbox). Its id is the old head's, "0003", so a database migrated to the old head
# is already at this revision and upgrades to nothing; a new database gets the same schema in
# one step (the `inbox` table the old first revision created and its last dropped is never
# made).

import sqlalchemy as sa
from alembic import op

from shared.sql import create_messaging_tables

revision = "0003"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("event_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("category", sa.String(100)),
        sa.Column("total_capacity", sa.Integer, nullable=False),
        sa.Column("booked_seats", sa.Integer, nullable=False, server_default="0"),
        sa.Column("ticket_price", sa.Numeric(12, 2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        # DB2: every change of a row increments it; writers say which version they read.
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.CheckConstraint("total_capacity >= 1", name="ck_events_capacity_positive"),
        # Whatever a bug in the code above does, the database refuses an oversold event.
        sa.CheckConstraint(
            "booked_seats >= 0 AND booked_seats <= total_capacity", name="ck_events_booked_within_capacity"
        ),
        sa.CheckConstraint("ticket_price >= 0", name="ck_events_price_not_negative"),
    )
    op.create_index("ix_events_event_date", "events", ["event_date", "id"])
    op.create_index("ix_events_location_lower", "events", [sa.text("lower(location)")])


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
