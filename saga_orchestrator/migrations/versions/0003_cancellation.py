"""Cancellation sagas: each saga has a type (booking or cancellation) and a context (what a
cancellation learnt at its start); one live cancellation per reservation.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
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
