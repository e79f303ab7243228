"""The reservation use cases' idempotency (reservation_service/service.py) over an in-memory
store: a retry under a key gets the first answer again, the reservation or the refusal, without
a write nor a call to the event service; a caller that gave up fences its key. The store's own
behaviour against MongoDB is tests/integration/reservation_service's.

The event service is a stand-in that fails the test when called: none of these paths may call
it (the creation paths that do are the integration tests')."""

from decimal import Decimal
from typing import Any

import pytest

from reservation_service.domain import NewReservation, SeatHold
from reservation_service.service import CreationInProgress, Reservations, StoredRefusal
from shared.idempotency import Idempotency, StoredAnswer

Doc = dict[str, Any]


class NoEventService:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the event service was called ({name}) on a path that must not call it")


class MemoryStore:
    def __init__(self) -> None:
        self.answers: dict[str, StoredAnswer] = {}
        # key -> the document holding it (a reservation, or a tombstone) and its stored answer
        self.held: dict[str, tuple[Doc, StoredAnswer | None]] = {}
        self.writes = 0

    async def find_answer(self, idem: Idempotency) -> StoredAnswer | None:
        return self.answers.get(idem.key)

    async def save_answer(self, idem: Idempotency, answer: StoredAnswer) -> None:
        self.writes += 1
        self.answers.setdefault(idem.key, answer)

    async def fence(self, key: str) -> bool:
        if key in self.held:
            return False
        self.held[key] = ({"fenced": True}, None)
        return True

    async def holder_of(self, key: str) -> tuple[Doc, StoredAnswer | None] | None:
        return self.held.get(key)

    async def insert(self, doc: Doc, message: object) -> Doc | None:
        raise AssertionError("a retry must not write a reservation")


def reservations(store: MemoryStore) -> Reservations:
    return Reservations(store, NoEventService())  # type: ignore[arg-type]


def new(seats: int = 2) -> NewReservation:
    return NewReservation(
        event_id=7,
        user_id="user-1",
        user_details={"name": "Awa"},
        seats=seats,
        currency="XOF",
        ticket_price=None,
        saga_id=None,
        metadata={},
    )


async def test_a_retry_of_a_created_reservation_gets_it_again_without_a_write():
    store = MemoryStore()
    created = {"id": "r1", "status": "confirmed", "bookingDetails": {"totalAmount": Decimal("10000")}}
    store.answers["k1"] = StoredAnswer(201, created)
    again = await reservations(store).create(new(), Idempotency("k1", "fp"))
    assert again == created and store.writes == 0


async def test_a_retry_of_a_refused_reservation_gets_the_same_refusal():
    store = MemoryStore()
    refusal = {"title": "Conflict", "detail": "Not enough seats", "extra": {"reservationId": "r1"}}
    store.answers["k1"] = StoredAnswer(409, refusal)
    with pytest.raises(StoredRefusal) as refused:
        await reservations(store).create(new(), Idempotency("k1", "fp"))
    error = refused.value
    assert (error.status, error.title, error.detail, error.extra) == (
        409,
        "Conflict",
        "Not enough seats",
        {"reservationId": "r1"},
    )
    assert store.writes == 0


async def test_a_fenced_key_with_nothing_under_it_is_none_and_stays_fenced():
    store = MemoryStore()
    assert await reservations(store).fence("k1") is None
    assert store.held["k1"][0].get("fenced")
    assert await reservations(store).fence("k1") is None


async def test_a_key_freed_between_the_refused_tombstone_and_the_read_is_fenced_on_the_next_round():
    store = MemoryStore()
    store.held["k1"] = ({"id": "r1", "seatHold": SeatHold.REQUESTED.value}, None)
    read = store.holder_of

    async def freed_first(key: str) -> tuple[Doc, StoredAnswer | None] | None:
        # A direct creation the event service could not serve frees its key right then.
        store.holder_of = read  # type: ignore[method-assign]
        del store.held[key]
        return None

    store.holder_of = freed_first  # type: ignore[method-assign]
    assert await reservations(store).fence("k1") is None
    assert store.held["k1"][0].get("fenced")


async def test_a_fenced_key_gives_the_stored_answer_first():
    store = MemoryStore()
    stored = StoredAnswer(409, {"title": "Conflict", "detail": "no", "extra": {}})
    store.held["k1"] = ({"id": "r1", "seatHold": SeatHold.REFUSED.value}, stored)
    assert await reservations(store).fence("k1") == stored


async def test_a_fenced_key_whose_reservation_is_still_booking_its_seats_is_409():
    store = MemoryStore()
    store.held["k1"] = ({"id": "r1", "seatHold": SeatHold.REQUESTED.value}, None)
    with pytest.raises(CreationInProgress) as busy:
        await reservations(store).fence("k1")
    assert busy.value.status == 409 and busy.value.extra == {"reservationId": "r1"}


async def test_a_fenced_key_whose_reservation_holds_its_seats_answers_it_as_created():
    store = MemoryStore()
    doc = {"id": "r1", "seatHold": SeatHold.HELD.value}
    store.held["k1"] = (doc, None)
    assert await reservations(store).fence("k1") == StoredAnswer(201, doc)
