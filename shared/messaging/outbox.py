"""Transactional outbox relays: publish what a committed change wrote, then mark it sent.

PostgreSQL services insert an `outbox` row in the transaction of their change; MongoDB
services push the message into the changed document's `outbox` array in the same write, and
flag the document (`outboxPending`, indexed) so the relay finds it without a scan.
A crash after publishing and before marking sends the message again: consumers dedupe by
messageId (inbox), so delivery is at-least-once and application exactly-once.
"""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared import sql
from shared.messaging.broker import Broker, BrokerUnavailable
from shared.messaging.envelope import Envelope
from shared.metrics import Metrics

log = logging.getLogger(__name__)

BATCH = 200

# Set on a MongoDB document whose `outbox` has messages to send, and indexed: the MongoDB-wire
# engine does not serve {"outbox.0": {"$exists": true}} from an index, so finding pending
# messages that way read every document on every pass (3 ms at 4,500 reservations, growing).
MONGO_PENDING = "outboxPending"


def mongo_outbox(*envelopes: Envelope) -> dict[str, Any]:
    """The fields of a new MongoDB document carrying these messages."""
    if not envelopes:
        return {"outbox": []}
    return {"outbox": [e.as_document() for e in envelopes], MONGO_PENDING: True}


async def ensure_mongo_outbox(collection: AsyncCollection[dict[str, Any]]) -> None:
    """The relay's index, and the flag on documents written before it existed. Run at every
    start: the update scans the collection once (documents written since carry the flag)."""
    await collection.create_index([(MONGO_PENDING, ASCENDING)], name="outbox_pending_flag", sparse=True)
    await collection.update_many(
        {"outbox.0": {"$exists": True}, MONGO_PENDING: {"$exists": False}}, {"$set": {MONGO_PENDING: True}}
    )


async def add_to_outbox(conn: AsyncConnection, *envelopes: Envelope) -> None:
    """Write messages in the caller's transaction; they exist exactly when its change does."""
    if envelopes:
        await conn.execute(
            sql.outbox.insert(),
            [
                {"message_id": e.message_id, "routing_key": e.type, "payload": e.as_document()}
                for e in envelopes
            ],
        )


class Relay:
    """Polls every `interval` seconds, and at once when woken after a commit."""

    def __init__(self, broker: Broker, interval: float, metrics: Metrics | None = None) -> None:
        self.broker = broker
        self.interval = interval
        self.metrics = metrics
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{type(self).__name__}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        while True:
            # Cleared before the pass, not after: a wake() during the pass (a commit after its
            # SELECT) must trigger another pass at once, not wait for the next interval.
            self._wake.clear()
            try:
                sent = await self.relay_once() if self.broker.connected else 0
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay pass failed")
                sent = 0
            if sent >= BATCH:
                continue  # more is waiting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            # Python 3.11's wait_for returns normally when a cancel lands just after the wake-up
            # (a wake() right before shutdown); without this check stop() would wait forever.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError

    async def relay_once(self) -> int:
        raise NotImplementedError


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
                    sa.select(table.c.id, table.c.payload)
                    .where(table.c.published_at.is_(None))
                    .order_by(table.c.id)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            sent: list[int] = []
            try:
                for row in rows:
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


class MongoOutboxRelay(Relay):
    def __init__(
        self,
        collections: Sequence[AsyncCollection[dict[str, Any]]],
        broker: Broker,
        interval: float,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(broker, interval, metrics)
        self.collections = list(collections)

    async def relay_once(self) -> int:
        total = 0
        pending = 0
        for collection in self.collections:
            cursor = collection.find({MONGO_PENDING: True}, {"outbox": 1}).limit(BATCH)
            async for doc in cursor:
                sent: list[str] = []
                try:
                    for message in doc["outbox"]:
                        await self.broker.publish(message)
                        sent.append(message["messageId"])
                except BrokerUnavailable as exc:
                    log.warning("outbox relay paused: %s", exc)
                    pending += len(doc["outbox"]) - len(sent)
                    await self._mark_sent(collection, doc["_id"], sent)
                    return total
                await self._mark_sent(collection, doc["_id"], sent)
                total += len(sent)
        if self.metrics is not None:
            self.metrics.outbox_pending.set(pending)
        return total

    @staticmethod
    async def _mark_sent(collection: AsyncCollection[dict[str, Any]], doc_id: Any, sent: list[str]) -> None:
        if sent:
            await collection.update_one({"_id": doc_id}, {"$pull": {"outbox": {"messageId": {"$in": sent}}}})
        # Only once the outbox is empty: a message pushed meanwhile set the flag with it.
        await collection.update_one({"_id": doc_id, "outbox": {"$size": 0}}, {"$unset": {MONGO_PENDING: ""}})
