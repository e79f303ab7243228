"""The analytics use cases (analytics_service/service.py) over an in-memory store: they refuse
while the index is not there, answer 404 for what the read model does not show, and index or
correct an event by hand with occupancy following the counters. The store's own behaviour
against OpenSearch is tests/integration/analytics_service's."""

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from analytics_service.domain import CapacityExceeded, Doc
from analytics_service.service import Analytics
from analytics_service.store import Versioned
from shared.errors import NotFound, Unavailable

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


class MemoryStore:
    """The calls the hand-written paths make, as the real store answers them: a deleted or
    placeholder document is not shown; a conditional write fails when something wrote since
    the read (a sequence number per document, as OpenSearch's _seq_no)."""

    def __init__(self) -> None:
        self.docs: dict[int, Doc] = {}
        self.seq: dict[int, int] = {}
        self.writes = 0

    async def get_event(self, event_id: int) -> Doc | None:
        doc = self.docs.get(event_id)
        if doc is None or doc.get("deleted") or doc.get("placeholder"):
            return None
        return doc

    async def read_event(self, event_id: int) -> Versioned | None:
        if event_id not in self.docs:
            return None
        return Versioned(self.docs[event_id], self.seq.get(event_id, 0), 1)

    async def write_event(
        self, event_id: int, doc: Doc, read: Versioned | None, *, refresh: bool = True
    ) -> bool:
        current = self.seq.get(event_id, 0) if event_id in self.docs else None
        if (read is None and current is not None) or (read is not None and read.seq_no != current):
            return False
        self.docs[event_id] = doc
        self.seq[event_id] = (current or 0) + 1
        self.writes += 1
        return True


def analytics(store: MemoryStore, *, ready: bool = True) -> Analytics:
    index_ready = asyncio.Event()
    if ready:
        index_ready.set()
    return Analytics(store, index_ready, lambda: AT)  # type: ignore[arg-type]


def given(event_id: int = 7, **fields: Any) -> Doc:
    return {"eventId": event_id, "name": "Concert", "totalCapacity": 200, "bookedSeats": 50, **fields}


async def test_every_use_case_answers_503_while_the_index_is_not_there():
    store = MemoryStore()
    service = analytics(store, ready=False)
    for call in (
        service.overview(),
        service.get_event(7),
        service.index_by_hand(7, given()),
        service.update_by_hand(7, {"bookedSeats": 1}),
    ):
        with pytest.raises(Unavailable, match="not available yet"):
            await call
    assert store.writes == 0


async def test_an_event_the_read_model_does_not_show_is_404():
    store = MemoryStore()
    store.docs[8] = {**given(8), "deleted": True}
    store.docs[9] = {**given(9), "placeholder": True}
    for event_id in (7, 8, 9):
        with pytest.raises(NotFound, match=f"No analytics for event {event_id}"):
            await analytics(store).get_event(event_id)


async def test_indexing_by_hand_says_whether_the_event_was_new_and_derives_occupancy():
    store = MemoryStore()
    service = analytics(store)
    doc, created = await service.index_by_hand(7, given())
    assert created
    assert (doc["availableSeats"], Decimal(str(doc["occupancyRate"]))) == (150, Decimal("25.00"))
    assert doc["updatedAt"] == AT.isoformat()
    again, created = await service.index_by_hand(7, given(bookedSeats=100))
    assert not created
    assert (again["availableSeats"], store.docs[7]["bookedSeats"]) == (100, 100)


async def test_indexing_by_hand_keeps_the_projections_version():
    store = MemoryStore()
    store.docs[7] = {**given(), "eventVersion": 4}
    doc, _ = await analytics(store).index_by_hand(7, given(eventVersion=99))
    assert doc["eventVersion"] == 4


async def test_a_correction_of_an_unknown_deleted_or_placeholder_event_is_404_and_writes_nothing():
    store = MemoryStore()
    store.docs[8] = {**given(8), "deleted": True}
    store.docs[9] = {**given(9), "placeholder": True}
    for event_id in (7, 8, 9):
        with pytest.raises(NotFound):
            await analytics(store).update_by_hand(event_id, {"bookedSeats": 10})
    assert store.writes == 0 and 7 not in store.docs
    assert store.docs[8]["bookedSeats"] == 50


async def test_a_correction_moves_the_counters_and_occupancy_follows():
    store = MemoryStore()
    service = analytics(store)
    await service.index_by_hand(7, given())
    doc = await service.update_by_hand(7, {"bookedSeats": 180})
    assert (doc["bookedSeats"], doc["availableSeats"], Decimal(str(doc["occupancyRate"]))) == (
        180,
        20,
        Decimal("90.00"),
    )
    assert store.docs[7] == doc


async def test_a_correction_beyond_capacity_is_refused_and_writes_nothing():
    store = MemoryStore()
    service = analytics(store)
    await service.index_by_hand(7, given())
    with pytest.raises(CapacityExceeded):
        await service.update_by_hand(7, {"bookedSeats": 201})
    assert store.docs[7]["bookedSeats"] == 50 and store.writes == 1


async def test_a_correction_that_loses_a_race_is_decided_again_on_what_the_other_writer_wrote():
    store = MemoryStore()
    service = analytics(store)
    await service.index_by_hand(7, given())
    write = store.write_event

    async def another_writer_first(event_id: int, doc: Doc, read: Versioned | None, **kw: Any) -> bool:
        store.write_event = write  # type: ignore[method-assign]
        await write(event_id, {**store.docs[event_id], "totalCapacity": 300}, read)
        return await write(event_id, doc, read, **kw)

    store.write_event = another_writer_first  # type: ignore[method-assign]
    doc = await service.update_by_hand(7, {"bookedSeats": 180})
    # Decided again on the other writer's capacity, not on the one read first.
    assert (doc["totalCapacity"], doc["availableSeats"]) == (300, 120)
    assert store.docs[7] == doc and store.writes == 3
