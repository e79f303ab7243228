"""The MongoDB outbox: messages in the changed document's `outbox` array, written with the
change itself, and their relay. The document is flagged (`outboxPending`, indexed) so the
relay finds it without a scan."""

import logging
from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from shared import tracing
from shared.contracts import Envelope
from shared.messaging.broker import Broker, BrokerUnavailable
from shared.messaging.outbox import BATCH, Relay
from shared.metrics import Metrics

log = logging.getLogger(__name__)

# Set on a MongoDB document whose `outbox` has messages to send, and indexed: the MongoDB-wire
# engine does not serve {"outbox.0": {"$exists": true}} from an index, so finding pending
# messages that way read every document on every pass (measured in docs/performance.md).
MONGO_PENDING = "outboxPending"


# Beside each message in the `outbox` array: the trace context of the work that wrote it
# (shared/tracing.py); the relay publishes in that trace and leaves the field off the wire.
TRACE_FIELD = "_traceContext"


def outbox_entry(envelope: Envelope) -> dict[str, Any]:
    """A message as an `outbox` array keeps it: the envelope, and the writer's trace context."""
    entry = envelope.as_document()
    kept = tracing.carrier()
    if kept:
        entry[TRACE_FIELD] = kept
    return entry


def mongo_outbox(*envelopes: Envelope) -> dict[str, Any]:
    """The fields of a new MongoDB document carrying these messages."""
    if not envelopes:
        return {"outbox": []}
    return {"outbox": [outbox_entry(e) for e in envelopes], MONGO_PENDING: True}


async def ensure_mongo_outbox(collection: AsyncCollection[dict[str, Any]]) -> None:
    """The relay's index, and the flag on documents written before it existed. Run at every
    start: the update scans the collection once (documents written since carry the flag)."""
    await collection.create_index([(MONGO_PENDING, ASCENDING)], name="outbox_pending_flag", sparse=True)
    await collection.update_many(
        {"outbox.0": {"$exists": True}, MONGO_PENDING: {"$exists": False}}, {"$set": {MONGO_PENDING: True}}
    )


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
                        kept = message.pop(TRACE_FIELD, None)
                        with tracing.restored(kept):
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
            # Most often the outbox holds exactly what was sent (nothing was pushed since it
            # was read): one write empties it and drops the flag.
            emptied = await collection.update_one(
                {"_id": doc_id, "outbox": {"$size": len(sent)}, "outbox.messageId": {"$all": sent}},
                {"$set": {"outbox": []}, "$unset": {MONGO_PENDING: ""}},
            )
            if emptied.matched_count:
                return
            await collection.update_one({"_id": doc_id}, {"$pull": {"outbox": {"messageId": {"$in": sent}}}})
        # Only once the outbox is empty: a message pushed meanwhile set the flag with it.
        await collection.update_one({"_id": doc_id, "outbox": {"$size": 0}}, {"$unset": {MONGO_PENDING: ""}})
