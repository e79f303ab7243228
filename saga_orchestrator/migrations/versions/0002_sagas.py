"""The durable saga log: saga instances and their step rows.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
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


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
