"""The PostgreSQL outbox: rows written in the caller's transaction, and their relay."""

import logging

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared import sql, tracing
from shared.contracts import Envelope
from shared.messaging.broker import Broker, BrokerUnavailable
from shared.messaging.outbox import BATCH, Relay
from shared.metrics import Metrics

log = logging.getLogger(__name__)


async def add_to_outbox(conn: AsyncConnection, *envelopes: Envelope) -> None:
    """Write messages in the caller's transaction; they exist exactly when its change does."""
    if envelopes:
        kept = tracing.carrier()
        await conn.execute(
            sql.outbox.insert(),
            [
                {
                    "message_id": e.message_id,
                    "routing_key": e.type,
                    "payload": e.as_document(),
                    # The relay publishes in this trace (shared/tracing.py).
                    "trace_context": kept,
                }
                for e in envelopes
            ],
        )


class SqlOutboxRelay(Relay):
    def __init__(
        self, engine: AsyncEngine, broker: Broker, interval: float, metrics: Metrics | None = None
    ) -> None:
        super().__init__(broker, interval, metrics)
        self.engine = engine

    async def relay_once(self) -> int:
        table = sql.outbox
        async with self.engine.begin() as conn:
            # SKIP LOCKED: relays of several processes share the work without waiting.
            rows = (
                await conn.execute(
                    sa.select(table.c.id, table.c.payload, table.c.trace_context)
                    .where(table.c.published_at.is_(None))
                    .order_by(table.c.id)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            sent: list[int] = []
            try:
                for row in rows:
                    # The publish's span (aio-pika's instrumentation) joins the trace of the
                    # work that wrote the row, and its context goes in the message headers.
                    with tracing.restored(row.trace_context):
                        await self.broker.publish(row.payload)
                    sent.append(row.id)
            except BrokerUnavailable as exc:
                log.warning("outbox relay paused: %s", exc)
            if sent:
                await conn.execute(
                    table.update().where(table.c.id.in_(sent)).values(published_at=sa.func.now())
                )
        if self.metrics is not None:
            self.metrics.outbox_pending.set(len(rows) - len(sent))
        return len(sent)
