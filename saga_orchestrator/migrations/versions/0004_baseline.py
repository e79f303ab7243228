"""The saga log's schema: the outbox and idempotency keys, saga instances (booking or
cancellation, one live cancellation per reservation) and their step rows.

Revision ID: 0004
Revises:
"""

# Squashed: this one revision replaces revisions 0001 (messaging tables), 0002 (sagas), 0003
# (cancellation) and 0004 (drop inbox). Its id is the old head's, "0004", so a database
# migrated to the old head is already at this revision and upgrades to nothing; a new database
# gets the same schema in one step (the `inbox` table the old first revision created and its
# last dropped is never made).

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.sql import create_messaging_tables

revision = "0004"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "sagas",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("current_step", sa.String(32)),
        sa.Column("request", JSONB, nullable=False),
        sa.Column("event_id", sa.BigInteger, nullable=False),
        sa.Column("seats", sa.Integer, nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reservation_id", sa.String(64)),
        sa.Column("payment_id", sa.String(64)),
        sa.Column("error", sa.Text),
        # A start retried with the same key finds this row; a race is settled by the constraint.
        sa.Column("idempotency_key", sa.String(255), unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("owner", sa.String(128)),
    )
    op.create_index("ix_sagas_status_created", "sagas", ["status", "created_at"])
    op.create_index(
        "ix_sagas_unfinished_lease",
        "sagas",
        ["lease_until"],
        postgresql_where=sa.text("status NOT IN ('COMPLETED', 'COMPENSATED', 'COMPENSATION_FAILED')"),
    )
    op.create_table(
        "saga_steps",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("saga_id", UUID(as_uuid=True), sa.ForeignKey("sagas.id"), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text),
        sa.Column("response", JSONB),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("saga_id", "name", name="uq_saga_steps_saga_name"),
    )

    op.add_column("sagas", sa.Column("type", sa.String(16), nullable=False, server_default="booking"))
    op.add_column("sagas", sa.Column("context", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")))
    # Two cancellations of one reservation racing: the second insert fails here. A refused
    # (COMPENSATED) cancellation leaves room for a new one.
    op.create_index(
        "uq_sagas_live_cancellation",
        "sagas",
        ["reservation_id"],
        unique=True,
        postgresql_where=sa.text("type = 'cancellation' AND status <> 'COMPENSATED'"),
    )
    op.create_index("ix_sagas_reservation", "sagas", ["reservation_id"])


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
