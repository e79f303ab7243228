"""Events and snapshots in MongoDB: appends with a gapless version per aggregate, history,
queries by type and time, replay from the newest snapshot."""

import asyncio
import contextlib
import logging
import random
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from event_store_service.domain import (
    SNAPSHOT_SCHEMA,
    AggregateTypeMismatch,
    EventIdReused,
    VersionConflict,
    aggregate_type_key,
    apply_event,
    check_event_data,
    event_type_name,
    next_version,
    same_event,
    snapshot_due,
)
from shared import faults
from shared.clock import to_ms, utc_now_ms
from shared.errors import NotFound, Unavailable
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
    bounds: dict[str, Any] = {}
    if from_date is not None:
        bounds["$gte"] = from_date
    if to_date is not None:
        bounds["$lte"] = to_date
    return {"occurredAt": bounds} if bounds else {}


class _AggregateLocks:
    """One asyncio.Lock per aggregate id, dropped when nobody holds or waits for it: this
    process's appends to one aggregate queue instead of colliding on the unique index."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class _KnownVersions:
    """The highest version this process has seen per aggregate, with its type (a bounded LRU).
    Versions are never removed, so it is a lower bound of the head whatever other processes
    append: the head query only walks the versions at or above it, and an append aims at the
    next one without reading (the unique index refuses it when another process moved on)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._heads: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._capacity = capacity

    def get(self, aggregate_id: str) -> int:
        head = self._heads.get(aggregate_id)
        return head[0] if head else 0

    def head(self, aggregate_id: str) -> tuple[int, str] | None:
        return self._heads.get(aggregate_id)

    def saw(self, aggregate_id: str, version: int, aggregate_type: str) -> None:
        if version > self.get(aggregate_id):
            self._heads[aggregate_id] = (version, aggregate_type)
        if aggregate_id in self._heads:
            self._heads.move_to_end(aggregate_id)
            if len(self._heads) > self._capacity:
                self._heads.popitem(last=False)


class EventStore:
    def __init__(
        self, database: AsyncDatabase[Doc], *, snapshot_every: int = 100, append_attempts: int = 100
    ) -> None:
        self._events = database["events"]
        self._snapshots = database["snapshots"]
        self.snapshot_every = snapshot_every
        self._attempts = append_attempts
        self._locks = _AggregateLocks()
        self._known = _KnownVersions()

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

    async def append(self, new: NewEvent) -> tuple[Doc, bool]:
        """Store the event at the aggregate's next version; (event, False) when its eventId was
        already stored (the earlier event is returned, nothing is appended)."""
        check_event_data(new.event_data, "eventData")
        check_event_data(new.metadata, "metadata")
        event_id = new.event_id or str(uuid.uuid4())
        async with self._locks.hold(new.aggregate_id):
            doc, created = await self._append_held(new, event_id, utc_now_ms())
        if created:
            await self._after_append(doc)
        return doc, created

    async def _after_append(self, doc: Doc) -> None:
        doc.pop("_id", None)
        await self._snapshot_after_append(doc["aggregateId"], doc["aggregateType"], doc["version"])

    @staticmethod
    def _document(new: NewEvent, event_id: str, version: int, recorded_at: datetime) -> Doc:
        return {
            "eventId": event_id,
            "aggregateId": new.aggregate_id,
            "aggregateType": aggregate_type_key(new.aggregate_type),
            "eventType": event_type_name(new.event_type),
            "eventData": new.event_data,
            "metadata": new.metadata,
            "version": version,
            "occurredAt": to_ms(new.occurred_at) if new.occurred_at else recorded_at,
            "recordedAt": recorded_at,
        }

    async def _append_held(self, new: NewEvent, event_id: str, recorded_at: datetime) -> tuple[Doc, bool]:
        """The append, its aggregate's lock held: (stored event, True), or (the event stored
        earlier under its eventId, False)."""
        aggregate_type = aggregate_type_key(new.aggregate_type)
        for attempt in range(self._attempts):
            known = self._known.head(new.aggregate_id) if attempt == 0 else None
            stored_type: str | None
            if known is not None and new.expected_version in (None, known[0]):
                # `known` is at most the head: aim past it without reading; the unique
                # index refuses the version when another process has moved on.
                current, stored_type = known
            else:
                current, stored_type = await self._head(new.aggregate_id)
            try:
                if stored_type is not None and stored_type != aggregate_type:
                    raise AggregateTypeMismatch(new.aggregate_id, stored_type, aggregate_type)
                version = next_version(new.aggregate_id, current, new.expected_version)
            except (AggregateTypeMismatch, VersionConflict):
                # The unique eventId index settles duplicates, so there is no lookup before
                # the insert; but a retried append finds the aggregate moved on (by itself).
                existing = await self._existing(new)
                if existing is not None:
                    return existing, False
                raise
            doc = self._document(new, event_id, version, recorded_at)
            try:
                await self._events.insert_one(doc)
            except DuplicateKeyError:
                existing = await self._existing(new)
                if existing is not None:  # this event is already stored (a retry or a racer)
                    return existing, False
                if new.expected_version is not None:
                    latest, _ = await self._head(new.aggregate_id)
                    raise VersionConflict(new.aggregate_id, new.expected_version, latest) from None
                # Another process took this version first: back off (jittered, exponential)
                # and aim at the next one.
                await asyncio.sleep(random.uniform(0, min(0.05, 0.001 * 2 ** min(attempt, 6))))
                continue
            self._known.saw(new.aggregate_id, version, aggregate_type)
            return doc, True
        raise Unavailable(
            f"Aggregate {new.aggregate_id} is under too much contention; retry the append.",
        )

    async def append_many(self, news: list[NewEvent]) -> list[tuple[Doc, bool] | Exception]:
        """`append` of many events without expected versions, in as few inserts as the stream
        allows: per event (stored, True), (the earlier one with its eventId, False) or why not.

        Each aggregate's events land at its next versions in the order given. One ordered
        insert writes them all; it stops at the first event it refuses (its eventId stored
        already, a version another process took), which then takes `append`'s own path, and
        the events after it are planned again from there: no version is ever skipped."""
        results: list[tuple[Doc, bool] | Exception | None] = [None] * len(news)
        waiting: list[int] = []
        for index, new in enumerate(news):
            try:
                if new.expected_version is not None:
                    raise ValueError("append_many appends without an expected version")
                check_event_data(new.event_data, "eventData")
                check_event_data(new.metadata, "metadata")
            except Exception as exc:  # this event only
                results[index] = exc
                continue
            waiting.append(index)
        event_ids = [new.event_id or str(uuid.uuid4()) for new in news]
        written: list[Doc] = []
        recorded_at = utc_now_ms()
        async with contextlib.AsyncExitStack() as held:
            # Sorted: a batch holds many locks, and two holders never wait for each other.
            for aggregate_id in sorted({news[i].aggregate_id for i in waiting}):
                await held.enter_async_context(self._locks.hold(aggregate_id))
            while waiting:
                planned, docs = await self._plan(news, event_ids, waiting, recorded_at)
                inserted = len(docs)
                if docs:
                    try:
                        await self._events.insert_many(docs, ordered=True)
                    except BulkWriteError as exc:
                        inserted = int(exc.details.get("nInserted", 0))
                        if not exc.details.get("writeErrors"):
                            raise
                for index, doc in zip(planned[:inserted], docs[:inserted], strict=True):
                    self._known.saw(doc["aggregateId"], doc["version"], doc["aggregateType"])
                    results[index] = (doc, True)
                    written.append(doc)
                waiting = waiting[inserted:]
                if waiting:  # the event the insert stopped at (or could not plan) goes alone
                    index, waiting = waiting[0], waiting[1:]
                    try:
                        doc, created = await self._append_held(news[index], event_ids[index], recorded_at)
                    except Exception as exc:
                        results[index] = exc
                    else:
                        results[index] = (doc, created)
                        if created:
                            written.append(doc)
        for doc in written:
            await self._after_append(doc)
        return [r if r is not None else RuntimeError("not appended") for r in results]

    async def _plan(
        self, news: list[NewEvent], event_ids: list[str], waiting: list[int], recorded_at: datetime
    ) -> tuple[list[int], list[Doc]]:
        """The documents of `waiting`'s events at their aggregates' next versions, up to the
        first whose aggregate holds another type (that one goes alone)."""
        aggregates = dict.fromkeys(news[i].aggregate_id for i in waiting)
        unknown = [a for a in aggregates if self._known.head(a) is None]
        heads: dict[str, tuple[int, str | None]] = dict(
            zip(unknown, await asyncio.gather(*(self._head(a) for a in unknown)), strict=True)
        )
        planned: list[int] = []
        docs: list[Doc] = []
        for index in waiting:
            new = news[index]
            aggregate_type = aggregate_type_key(new.aggregate_type)
            head = heads.get(new.aggregate_id) or self._known.head(new.aggregate_id)
            current, stored_type = head or (0, None)
            if stored_type is not None and stored_type != aggregate_type:
                break
            heads[new.aggregate_id] = (current + 1, aggregate_type)
            planned.append(index)
            docs.append(self._document(new, event_ids[index], current + 1, recorded_at))
        return planned, docs

    async def _existing(self, new: NewEvent) -> Doc | None:
        if new.event_id is None:
            return None
        existing = await self.event(new.event_id)
        return None if existing is None else self._replayed(existing, new)

    @staticmethod
    def _replayed(existing: Doc, new: NewEvent) -> Doc:
        """The stored event for a retried append; a different event under its eventId is a 409."""
        if not same_event(existing, new.aggregate_id, new.aggregate_type, new.event_type, new.event_data):
            raise EventIdReused(existing["eventId"])
        return existing

    async def _snapshot_after_append(self, aggregate_id: str, aggregate_type: str, version: int) -> None:
        if not snapshot_due(version, self.snapshot_every):
            return
        try:
            await self._replay(aggregate_id, aggregate_type, version, version)
        except Exception:
            # A snapshot is only a cache: the append stands, replay just starts further back.
            log.exception("could not snapshot %s at version %d", aggregate_id, version)

    async def _save_snapshot(self, aggregate_id: str, aggregate_type: str, version: int, state: Doc) -> None:
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

    async def _head(self, aggregate_id: str, floor: int = 0) -> tuple[int, str | None]:
        """(latest version, aggregateType), or (0, None) for an unknown aggregate. `floor` is a
        version known to exist: bounding the query by it (and by the versions this process saw)
        spares SecantusDB a walk over the whole aggregate (docs/performance.md)."""
        floor = max(floor, self._known.get(aggregate_id))
        query: Doc = {"aggregateId": aggregate_id}
        if floor > 0:
            query["version"] = {"$gte": floor}
        latest = await self._events.find_one(
            query, sort=[("version", DESCENDING)], projection={"version": 1, "aggregateType": 1}
        )
        if latest is None:
            return 0, None
        version, aggregate_type = int(latest["version"]), str(latest["aggregateType"])
        self._known.saw(aggregate_id, version, aggregate_type)
        return version, aggregate_type

    async def _known_head(self, aggregate_id: str, floor: int = 0) -> tuple[int, str]:
        version, aggregate_type = await self._head(aggregate_id, floor)
        if aggregate_type is None:
            raise NotFound(f"Aggregate {aggregate_id} has no events.")
        return version, aggregate_type

    async def event(self, event_id: str) -> Doc | None:
        return await self._events.find_one({"eventId": event_id}, projection={"_id": 0})

    async def history(self, aggregate_id: str, from_version: int, limit: int) -> tuple[str, int, list[Doc]]:
        """ES1: (aggregateType, currentVersion, events with version > from_version, ascending)."""
        current, aggregate_type = await self._known_head(aggregate_id)
        # exercise ES1: begin
        cursor = (
            self._events.find(
                {"aggregateId": aggregate_id, "version": {"$gt": from_version}}, projection={"_id": 0}
            )
            .sort("version", ASCENDING)
            .limit(limit)
        )
        return aggregate_type, current, await cursor.to_list()
        # exercise ES1: end

    async def by_type(
        self, event_type: str, from_date: datetime | None, to_date: datetime | None, limit: int
    ) -> list[Doc]:
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

    async def reconstruct(self, aggregate_id: str, to_version: int) -> Replay:
        """The state folded up to `to_version` (or the latest version when beyond it), from the
        newest snapshot at or below it; saves the last snapshot the replay went through."""
        snapshot = await self._snapshot(aggregate_id, to_version)
        # Snapshots exist only at stored versions: the snapshot's version bounds the head query.
        latest, aggregate_type = await self._known_head(
            aggregate_id, int(snapshot["version"]) if snapshot else 0
        )
        return await self._replay(aggregate_id, aggregate_type, latest, min(to_version, latest), snapshot)

    async def _snapshot(self, aggregate_id: str, at_most: int) -> Doc | None:
        if self.snapshot_every <= 0:
            return None
        return await self._snapshots.find_one(
            {"aggregateId": aggregate_id, "version": {"$lte": at_most}, "schema": SNAPSHOT_SCHEMA},
            sort=[("version", DESCENDING)],
        )

    async def _replay(
        self, aggregate_id: str, aggregate_type: str, latest: int, target: int, snapshot: Doc | None = None
    ) -> Replay:
        if snapshot is None:
            snapshot = await self._snapshot(aggregate_id, target)
        state: Doc = dict(snapshot["state"]) if snapshot else {}
        base = int(snapshot["version"]) if snapshot else 0
        reached, applied = base, 0
        to_save: tuple[int, Doc] | None = None
        if base < target:
            cursor = self._events.find(
                {"aggregateId": aggregate_id, "version": {"$gt": base, "$lte": target}},
                projection={"_id": 0, "eventType": 1, "eventData": 1, "version": 1},
            ).sort("version", ASCENDING)
            async for event in cursor:
                state = apply_event(
                    aggregate_type, state, str(event["eventType"]), event.get("eventData") or {}
                )
                reached, applied = int(event["version"]), applied + 1
                if snapshot_due(reached, self.snapshot_every):
                    to_save = (reached, state)
        if to_save is not None:
            await self._save_snapshot(aggregate_id, aggregate_type, *to_save)
        return Replay(
            aggregate_id=aggregate_id,
            aggregate_type=aggregate_type,
            version=reached,
            latest_version=latest,
            events_applied=applied,
            state=state,
            from_snapshot=base if snapshot else None,
        )

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
