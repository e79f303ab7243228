"""The event store's use cases: append an event (asked over HTTP, or a domain message the
recorder in `messaging` turned into one), read the log, fold an aggregate's state.

This layer owns the version and snapshot policy: it picks each append's version by the rule
(ES3), aims past the highest version this process saw without reading, takes the next one
when another process took it first (the store's unique index refuses the second), queues
this process's appends to one aggregate, and keeps a snapshot every `snapshot_every`
versions. The store does single reads and inserts. It returns stored documents; the api
renders them."""

import asyncio
import contextlib
import logging
import random
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from event_store_service.domain import (
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
from event_store_service.store import Doc, EventFilter, EventStore, NewEvent, Replay
from shared.clock import to_ms, utc_now_ms
from shared.errors import NotFound, Unavailable

log = logging.getLogger(__name__)


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


class EventLog:
    def __init__(self, store: EventStore, *, snapshot_every: int = 100, append_attempts: int = 100) -> None:
        self.store = store
        self.snapshot_every = snapshot_every
        self._attempts = append_attempts
        self._locks = _AggregateLocks()
        self._known = _KnownVersions()

    # --- writes ---------------------------------------------------------------------------

    async def append(self, new: NewEvent) -> tuple[Doc, bool]:
        # exercise ES3, level 2: begin
        """Store the event at the aggregate's next version; (event, False) when its eventId was
        already stored (the earlier event is returned, nothing is appended)."""
        check_event_data(new.event_data, "eventData")
        check_event_data(new.metadata, "metadata")
        event_id = new.event_id or str(uuid.uuid4())
        async with self._locks.hold(new.aggregate_id):
            doc, created = await self._append_held(new, event_id, utc_now_ms())
        if created:
            await self._snapshot_after_append(doc)
        return doc, created
        # exercise ES3, level 2: end

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
                inserted = await self.store.insert_many(docs) if docs else 0
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
            await self._snapshot_after_append(doc)
        return [r if r is not None else RuntimeError("not appended") for r in results]

    async def _append_held(self, new: NewEvent, event_id: str, recorded_at: datetime) -> tuple[Doc, bool]:
        # exercise ES3, level 2: begin
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
            doc = _document(new, event_id, version, recorded_at)
            if await self.store.insert(doc):
                self._known.saw(new.aggregate_id, version, aggregate_type)
                return doc, True
            existing = await self._existing(new)
            if existing is not None:  # this event is already stored (a retry or a racer)
                return existing, False
            if new.expected_version is not None:
                latest, _ = await self._head(new.aggregate_id)
                raise VersionConflict(new.aggregate_id, new.expected_version, latest)
            # Another process took this version first: back off (jittered, exponential) and
            # aim at the next one.
            await asyncio.sleep(random.uniform(0, min(0.05, 0.001 * 2 ** min(attempt, 6))))
        raise Unavailable(
            f"Aggregate {new.aggregate_id} is under too much contention; retry the append.",
        )
        # exercise ES3, level 2: end

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
            docs.append(_document(new, event_ids[index], current + 1, recorded_at))
        return planned, docs

    async def _existing(self, new: NewEvent) -> Doc | None:
        """The stored event for a retried append; a different event under its eventId is a 409."""
        if new.event_id is None:
            return None
        existing = await self.store.event(new.event_id)
        if existing is None:
            return None
        if not same_event(existing, new.aggregate_id, new.aggregate_type, new.event_type, new.event_data):
            raise EventIdReused(existing["eventId"])
        return existing

    async def _snapshot_after_append(self, doc: Doc) -> None:
        if not snapshot_due(doc["version"], self.snapshot_every):
            return
        try:
            await self._replay(doc["aggregateId"], doc["aggregateType"], doc["version"], doc["version"])
        except Exception:
            # A snapshot is only a cache: the append stands, replay just starts further back.
            log.exception("could not snapshot %s at version %d", doc["aggregateId"], doc["version"])

    # --- reads ----------------------------------------------------------------------------

    async def event(self, event_id: str) -> Doc:
        stored = await self.store.event(event_id)
        if stored is None:
            raise NotFound(f"Event {event_id} not found.")
        return stored

    async def search(self, filters: EventFilter, offset: int, size: int) -> tuple[list[Doc], int]:
        return await self.store.search(filters, offset, size)

    async def by_type(
        self, event_type: str, from_date: datetime | None, to_date: datetime | None, limit: int
    ) -> list[Doc]:
        # exercise ES2, level 2: begin
        return await self.store.by_type(event_type, from_date, to_date, limit)
        # exercise ES2, level 2: end

    async def history(self, aggregate_id: str, from_version: int, limit: int) -> tuple[str, int, list[Doc]]:
        # exercise ES1, level 2: begin
        """ES1: (aggregateType, currentVersion, events with version > from_version, ascending)."""
        current, aggregate_type = await self._known_head(aggregate_id)
        return aggregate_type, current, await self.store.history(aggregate_id, from_version, limit)
        # exercise ES1, level 2: end

    async def reconstruct(self, aggregate_id: str, to_version: int) -> Replay:
        """The state folded up to `to_version` (or the latest version when beyond it), from the
        newest snapshot at or below it; saves the last snapshot the replay went through."""
        snapshot = await self._snapshot(aggregate_id, to_version)
        # Snapshots exist only at stored versions: the snapshot's version bounds the head query.
        latest, aggregate_type = await self._known_head(
            aggregate_id, int(snapshot["version"]) if snapshot else 0
        )
        return await self._replay(aggregate_id, aggregate_type, latest, min(to_version, latest), snapshot)

    async def metrics(self) -> Doc:
        return await self.store.metrics()

    async def _head(self, aggregate_id: str, floor: int = 0) -> tuple[int, str | None]:
        """(latest version, aggregateType), or (0, None) for an unknown aggregate; the query
        is bounded by the highest version this process saw (docs/performance.md)."""
        version, aggregate_type = await self.store.head(
            aggregate_id, max(floor, self._known.get(aggregate_id))
        )
        if aggregate_type is not None:
            self._known.saw(aggregate_id, version, aggregate_type)
        return version, aggregate_type

    async def _known_head(self, aggregate_id: str, floor: int = 0) -> tuple[int, str]:
        version, aggregate_type = await self._head(aggregate_id, floor)
        if aggregate_type is None:
            raise NotFound(f"Aggregate {aggregate_id} has no events.")
        return version, aggregate_type

    async def _snapshot(self, aggregate_id: str, at_most: int) -> Doc | None:
        if self.snapshot_every <= 0:
            return None
        return await self.store.snapshot(aggregate_id, at_most)

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
            async for event in self.store.events_between(aggregate_id, base, target):
                state = apply_event(
                    aggregate_type, state, str(event["eventType"]), event.get("eventData") or {}
                )
                reached, applied = int(event["version"]), applied + 1
                if snapshot_due(reached, self.snapshot_every):
                    to_save = (reached, state)
        if to_save is not None:
            await self.store.save_snapshot(aggregate_id, aggregate_type, *to_save)
        return Replay(
            aggregate_id=aggregate_id,
            aggregate_type=aggregate_type,
            version=reached,
            latest_version=latest,
            events_applied=applied,
            state=state,
            from_snapshot=base if snapshot else None,
        )


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
