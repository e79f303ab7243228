"""The payment service's schema: the outbox and idempotency keys, and the payments table (money
as numeric(14,2), a version, the caller's idempotency key, at most one live charge per
reservation).

Revision ID: 0003
Revises:
"""

# Squashed: this one revision replaces revisions 0001 (messaging tables), 0002 (payments) and
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
        "payments",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("reservation_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False, server_default="XOF"),
        sa.Column("payment_method", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_reason", sa.Text),
        sa.Column("idempotency_key", sa.String(255)),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("amount > 0", name="ck_payments_amount_positive"),
        sa.CheckConstraint(
            "status IN ('pending','completed','failed','refunding','refunded','refund_failed')",
            name="ck_payments_status",
        ),
        sa.CheckConstraint(
            "payment_method IN ('card','mobile_money','bank_transfer')", name="ck_payments_method"
        ),
        sa.UniqueConstraint("idempotency_key", name="uq_payments_idempotency_key"),
    )
    op.create_index(
        "uq_payments_one_live_charge_per_reservation",
        "payments",
        ["reservation_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('pending','completed','refunding','refunded')"),
    )
    op.create_index("ix_payments_reservation_id", "payments", ["reservation_id"])
    op.create_index("ix_payments_user_id", "payments", ["user_id"])
    op.create_index("ix_payments_status_created", "payments", ["status", "created_at"])


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
