"""The event store's use cases (event_store_service/service.py) over an in-memory store with
the real one's unique indexes (eventId; aggregateId + version): the version policy (the next
version, taken again when another process took it first, never skipped; a stale expected
version refused), a retried append answered with the stored event, and the snapshot policy
(one every N versions; a replay starts from the newest one at or below its target). The
store's queries against MongoDB are tests/integration/event_store_service's."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from event_store_service.domain import AggregateTypeMismatch, EventIdReused, VersionConflict
from event_store_service.service import EventLog
from event_store_service.store import NewEvent

Doc = dict[str, Any]


class MemoryStore:
    def __init__(self) -> None:
        self.events: list[Doc] = []
        self.snapshots: list[Doc] = []
        self.inserts_refused = 0
        # Runs before the next insert lands: another process appending first.
        self.before_insert: list[Doc] = []

    def _refused(self, doc: Doc) -> bool:
        return any(
            e["eventId"] == doc["eventId"]
            or (e["aggregateId"], e["version"]) == (doc["aggregateId"], doc["version"])
            for e in self.events
        )

    def _rivals(self) -> None:
        self.events.extend(self.before_insert)
        self.before_insert.clear()

    async def insert(self, doc: Doc) -> bool:
        self._rivals()
        if self._refused(doc):
            self.inserts_refused += 1
            return False
        self.events.append(dict(doc))
        return True

    async def insert_many(self, docs: list[Doc]) -> int:
        self._rivals()
        for count, doc in enumerate(docs):
            if self._refused(doc):
                self.inserts_refused += 1
                return count
            self.events.append(dict(doc))
        return len(docs)

    async def head(self, aggregate_id: str, floor: int = 0) -> tuple[int, str | None]:
        mine = [e for e in self.events if e["aggregateId"] == aggregate_id]
        if not mine:
            return 0, None
        latest = max(mine, key=lambda e: e["version"])
        return latest["version"], latest["aggregateType"]

    async def event(self, event_id: str) -> Doc | None:
        return next((e for e in self.events if e["eventId"] == event_id), None)

    async def snapshot(self, aggregate_id: str, at_most: int) -> Doc | None:
        found = [s for s in self.snapshots if s["aggregateId"] == aggregate_id and s["version"] <= at_most]
        return max(found, key=lambda s: s["version"]) if found else None

    async def save_snapshot(self, aggregate_id: str, aggregate_type: str, version: int, state: Doc) -> None:
        self.snapshots.append({"aggregateId": aggregate_id, "version": version, "state": dict(state)})

    async def events_between(self, aggregate_id: str, after: int, up_to: int) -> AsyncIterator[Doc]:
        for e in sorted(self.events, key=lambda e: e["version"]):
            if e["aggregateId"] == aggregate_id and after < e["version"] <= up_to:
                yield e

    def versions(self, aggregate_id: str) -> list[int]:
        return sorted(e["version"] for e in self.events if e["aggregateId"] == aggregate_id)


def log_of(store: MemoryStore, *, snapshot_every: int = 0) -> EventLog:
    return EventLog(store, snapshot_every=snapshot_every)  # type: ignore[arg-type]


def added(amount: int, **more: Any) -> NewEvent:
    return NewEvent("acc-1", "ACCOUNT", "amount.added", {"total": amount}, **more)


def rival(version: int) -> Doc:
    return {
        "eventId": f"rival-{version}",
        "aggregateId": "acc-1",
        "aggregateType": "ACCOUNT",
        "eventType": "amount.added",
        "eventData": {"total": -1},
        "version": version,
    }


async def test_an_append_whose_version_another_process_took_takes_the_next_one():
    store = MemoryStore()
    log = log_of(store)
    for amount in (1, 2, 3):
        await log.append(added(amount))
    # This process saw version 3 and aims at 4 without reading; another process took 4.
    store.before_insert.append(rival(4))
    doc, created = await log.append(added(5))
    assert created and doc["version"] == 5
    assert store.inserts_refused == 1
    assert store.versions("acc-1") == [1, 2, 3, 4, 5]


async def test_an_append_with_a_stale_expected_version_is_refused_and_stores_nothing():
    store = MemoryStore()
    log = log_of(store)
    await log.append(added(1))
    await log.append(added(2))
    with pytest.raises(VersionConflict):
        await log.append(added(3, expected_version=1))
    assert store.versions("acc-1") == [1, 2]


async def test_an_expected_version_that_another_process_passed_meanwhile_is_refused():
    store = MemoryStore()
    log = log_of(store)
    await log.append(added(1))
    store.before_insert.append(rival(2))
    with pytest.raises(VersionConflict):
        await log.append(added(2, expected_version=1))
    assert store.versions("acc-1") == [1, 2] and store.events[-1]["eventId"] == "rival-2"


async def test_a_retried_append_is_answered_with_the_stored_event_and_appends_nothing():
    store = MemoryStore()
    log = log_of(store)
    first, created = await log.append(added(1, event_id="e-1"))
    again, created_again = await log.append(added(1, event_id="e-1"))
    assert created and not created_again
    assert again["eventId"] == "e-1" and again["version"] == first["version"] == 1
    assert store.versions("acc-1") == [1]


async def test_another_event_under_a_stored_event_id_is_refused():
    store = MemoryStore()
    log = log_of(store)
    await log.append(added(1, event_id="e-1"))
    with pytest.raises(EventIdReused):
        await log.append(added(99, event_id="e-1"))
    assert store.versions("acc-1") == [1]


async def test_an_aggregate_keeps_its_type():
    store = MemoryStore()
    log = log_of(store)
    await log.append(added(1))
    with pytest.raises(AggregateTypeMismatch):
        await log.append(NewEvent("acc-1", "ORDER", "order.placed", {}))
    assert store.versions("acc-1") == [1]


async def test_a_batch_that_meets_a_taken_version_plans_the_rest_again_without_a_gap():
    store = MemoryStore()
    log = log_of(store)
    await log.append(added(1))
    store.before_insert.append(rival(3))
    results = await log.append_many([added(n) for n in (2, 3, 4)])
    for result in results:
        if isinstance(result, Exception):
            raise result
    versions = [r[0]["version"] for r in results if isinstance(r, tuple)]
    assert versions == [2, 4, 5]
    assert store.versions("acc-1") == [1, 2, 3, 4, 5]


async def test_a_snapshot_every_n_versions_and_a_replay_from_the_newest_below_its_target():
    store = MemoryStore()
    log = log_of(store, snapshot_every=2)
    for amount in (10, 20, 30, 40, 50):
        await log.append(added(amount))
    assert [s["version"] for s in store.snapshots] == [2, 4]
    replay = await log.reconstruct("acc-1", 3)
    # From the snapshot at 2, one event applied: the state at version 3.
    assert (replay.from_snapshot, replay.events_applied, replay.version) == (2, 1, 3)
    assert replay.state == {"total": 30} and replay.latest_version == 5
