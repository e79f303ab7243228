"""Trace contexts (docs/tracing.md): the outbox keeps the one of the work that wrote each row,
a saga the one of the request that started it (its drive, resumed by any orchestrator, joins
that trace; `GET /api/saga/{id}` gives its id).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from shared.sql import add_outbox_trace_context

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_trace_context()
    op.add_column("sagas", sa.Column("trace_context", JSONB))
