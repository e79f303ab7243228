"""Events and snapshots in MongoDB: single inserts (the unique indexes refuse a taken version
or a stored eventId), history, queries by type and time, the events and snapshot a replay
starts from. The version and snapshot policy is the use case's (service.py)."""

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from event_store_service.domain import (
    SNAPSHOT_SCHEMA,
    aggregate_type_key,
    event_type_name,
)
from shared import faults
from shared.faults import Fault

log = logging.getLogger(__name__)

Doc = dict[str, Any]


@dataclass
class NewEvent:
    aggregate_id: str
    aggregate_type: str
    event_type: str
    event_data: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    expected_version: int | None = None
    event_id: str | None = None
    occurred_at: datetime | None = None


@dataclass
class Replay:
    aggregate_id: str
    aggregate_type: str
    version: int
    latest_version: int
    events_applied: int
    state: dict[str, Any]
    from_snapshot: int | None


@dataclass
class EventFilter:
    aggregate_id: str | None = None
    aggregate_type: str | None = None
    event_type: str | None = None
    from_date: datetime | None = None
    to_date: datetime | None = None


def _time_range(from_date: datetime | None, to_date: datetime | None) -> dict[str, Any]:
    # exercise ES2, level 2: begin
    bounds: dict[str, Any] = {}
    if from_date is not None:
        bounds["$gte"] = from_date
    if to_date is not None:
        bounds["$lte"] = to_date
    return {"occurredAt": bounds} if bounds else {}
    # exercise ES2, level 2: end


class EventStore:
    """Reads, and single writes: the use case (service.py) picks each version, retries a
    version another process took, and decides when a snapshot is kept."""

    def __init__(self, database: AsyncDatabase[Doc]) -> None:
        self._events = database["events"]
        self._snapshots = database["snapshots"]

    async def ensure_indexes(self) -> None:
        # The unique (aggregateId, version) index is what makes racing appends safe: two
        # writers aiming at the same version cannot both succeed, whatever they read before.
        unique_versions = True
        if faults.on(Fault.NO_EVENT_STORE_OCC):
            # Teaching fault no-event-store-occ: the index that refuses a second event at one
            # version is made plain, so two processes that read the same head both append at
            # head + 1 (the expectedVersion check reads that head, so it passes for both).
            unique_versions = False
        try:
            await self._events.create_index(
                [("aggregateId", ASCENDING), ("version", ASCENDING)],
                unique=unique_versions,
                name="aggregate_version",
            )
        except OperationFailure:
            if unique_versions:
                raise
            log.warning(
                "no-event-store-occ: this database already has the unique index, which still "
                "refuses duplicate versions; the fault shows on a fresh database"
            )
        await self._events.create_index("eventId", unique=True, name="event_id")
        await self._events.create_index(
            [("eventType", ASCENDING), ("occurredAt", DESCENDING)], name="type_time"
        )
        await self._events.create_index(
            [("aggregateType", ASCENDING), ("occurredAt", DESCENDING)], name="aggregate_type_time"
        )
        await self._snapshots.create_index(
            [("aggregateId", ASCENDING), ("version", ASCENDING)], unique=True, name="aggregate_version"
        )
        await self._one_spelling()

    async def _one_spelling(self) -> None:
        # Events appended before event types had one spelling (event_type_name) are rewritten
        # to it once, so every query matches one value. Idempotent: a second run finds none.
        for stored in await self._events.distinct("eventType"):
            if isinstance(stored, str) and event_type_name(stored) != stored:
                await self._events.update_many(
                    {"eventType": stored}, {"$set": {"eventType": event_type_name(stored)}}
                )

    # --- writes ---------------------------------------------------------------------------

    async def insert(self, doc: Doc) -> bool:
        """Store one event; False, and nothing stored, when its eventId is stored already or
        its version is taken (the unique indexes refuse it)."""
        try:
            await self._events.insert_one(doc)
        except DuplicateKeyError:
            return False
        finally:
            doc.pop("_id", None)
        return True

    async def insert_many(self, docs: list[Doc]) -> int:
        """Store events in order, stopping at the first one the unique indexes refuse: how
        many were stored (the first ones)."""
        inserted = len(docs)
        try:
            await self._events.insert_many(docs, ordered=True)
        except BulkWriteError as exc:
            inserted = int(exc.details.get("nInserted", 0))
            if not exc.details.get("writeErrors"):
                raise
        finally:
            for doc in docs:
                doc.pop("_id", None)
        return inserted

    async def save_snapshot(self, aggregate_id: str, aggregate_type: str, version: int, state: Doc) -> None:
        try:
            await self._snapshots.replace_one(
                {"aggregateId": aggregate_id, "version": version},
                {
                    "aggregateId": aggregate_id,
                    "aggregateType": aggregate_type,
                    "version": version,
                    "schema": SNAPSHOT_SCHEMA,
                    "state": state,
                    "createdAt": datetime.now(UTC),
                },
                upsert=True,
            )
        except DuplicateKeyError:
            pass  # a racing replay saved the same state at the same version

    # --- reads ----------------------------------------------------------------------------

    async def head(self, aggregate_id: str, floor: int = 0) -> tuple[int, str | None]:
        # exercise ES1, level 2: begin
        """(latest version, aggregateType), or (0, None) for an unknown aggregate. `floor` is a
        version known to exist: bounding the query by it spares SecantusDB a walk over the
        whole aggregate (docs/performance.md)."""
        query: Doc = {"aggregateId": aggregate_id}
        if floor > 0:
            query["version"] = {"$gte": floor}
        latest = await self._events.find_one(
            query, sort=[("version", DESCENDING)], projection={"version": 1, "aggregateType": 1}
        )
        if latest is None:
            return 0, None
        return int(latest["version"]), str(latest["aggregateType"])
        # exercise ES1, level 2: end

    async def event(self, event_id: str) -> Doc | None:
        return await self._events.find_one({"eventId": event_id}, projection={"_id": 0})

    async def history(self, aggregate_id: str, from_version: int, limit: int) -> list[Doc]:
        # exercise ES1, level 2: begin
        """ES1: the aggregate's events with version > from_version, ascending."""
        # exercise ES1: begin
        cursor = (
            self._events.find(
                {"aggregateId": aggregate_id, "version": {"$gt": from_version}}, projection={"_id": 0}
            )
            .sort("version", ASCENDING)
            .limit(limit)
        )
        return await cursor.to_list()
        # exercise ES1: end
        # exercise ES1, level 2: end

    async def by_type(
        self, event_type: str, from_date: datetime | None, to_date: datetime | None, limit: int
    ) -> list[Doc]:
        # exercise ES2, level 2: begin
        """ES2: events of one type (any spelling) in [from_date, to_date], newest first."""
        # exercise ES2: begin
        query = {"eventType": event_type_name(event_type), **_time_range(from_date, to_date)}
        cursor = (
            self._events.find(query, projection={"_id": 0})
            .sort([("occurredAt", DESCENDING), ("recordedAt", DESCENDING), ("version", DESCENDING)])
            .limit(limit)
        )
        return await cursor.to_list()
        # exercise ES2: end
        # exercise ES2, level 2: end

    async def search(self, filters: EventFilter, offset: int, size: int) -> tuple[list[Doc], int]:
        query: Doc = _time_range(filters.from_date, filters.to_date)
        if filters.aggregate_id is not None:
            query["aggregateId"] = filters.aggregate_id
        if filters.aggregate_type is not None:
            query["aggregateType"] = aggregate_type_key(filters.aggregate_type)
        if filters.event_type is not None:
            query["eventType"] = event_type_name(filters.event_type)
        cursor = (
            self._events.find(query, projection={"_id": 0})
            .sort([("occurredAt", DESCENDING), ("recordedAt", DESCENDING), ("version", DESCENDING)])
            .skip(offset)
            .limit(size)
        )
        items, total = await asyncio.gather(cursor.to_list(), self._events.count_documents(query))
        return items, total

    async def snapshot(self, aggregate_id: str, at_most: int) -> Doc | None:
        """The newest snapshot of the current schema at or below `at_most`."""
        return await self._snapshots.find_one(
            {"aggregateId": aggregate_id, "version": {"$lte": at_most}, "schema": SNAPSHOT_SCHEMA},
            sort=[("version", DESCENDING)],
        )

    def events_between(self, aggregate_id: str, after: int, up_to: int) -> AsyncIterator[Doc]:
        """The type, data and version of the aggregate's events in (after, up_to], ascending."""
        return self._events.find(
            {"aggregateId": aggregate_id, "version": {"$gt": after, "$lte": up_to}},
            projection={"_id": 0, "eventType": 1, "eventData": 1, "version": 1},
        ).sort("version", ASCENDING)

    async def metrics(self) -> Doc:
        async def counts(key: str) -> dict[str, int]:
            cursor = await self._events.aggregate([{"$group": {"_id": f"${key}", "n": {"$sum": 1}}}])
            return {str(row["_id"]): int(row["n"]) async for row in cursor}

        async def aggregates() -> int:
            cursor = await self._events.aggregate([{"$group": {"_id": "$aggregateId"}}, {"$count": "n"}])
            rows = await cursor.to_list()
            return int(rows[0]["n"]) if rows else 0

        async def last_event_at() -> datetime | None:
            last = await self._events.find_one(
                {}, sort=[("recordedAt", DESCENDING)], projection={"recordedAt": 1}
            )
            return last["recordedAt"] if last else None

        total, by_type, by_aggregate_type, n_aggregates, snapshots, last = await asyncio.gather(
            self._events.count_documents({}),
            counts("eventType"),
            counts("aggregateType"),
            aggregates(),
            self._snapshots.count_documents({}),
            last_event_at(),
        )
        return {
            "total_events": total,
            "events_by_type": by_type,
            "events_by_aggregate_type": by_aggregate_type,
            "aggregates": n_aggregates,
            "snapshots": snapshots,
            "last_event_at": last,
        }
