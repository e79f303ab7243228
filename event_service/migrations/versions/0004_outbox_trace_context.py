"""The outbox keeps the trace context of the work that wrote each row (docs/tracing.md).

Revision ID: 0004
Revises: 0003
"""

from shared.sql import add_outbox_trace_context

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_trace_context()
