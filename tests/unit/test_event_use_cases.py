"""The event use cases (event_service/service.py) over an in-memory repository: the rule
decides before any write, a seat change that lost the race on the version reads again and
retries, losing every attempt is 409 "busy", a key seen before replays its answer without a
write, and a twin that committed first under the same key is answered with its result. The
repository's own statements against PostgreSQL are tests/integration/event_service's.

The fake writes the way the real one does: a seat write lands only on the version it read."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from event_service.domain import Event, NewEvent, SeatsMoved, SeatsUnavailable
from event_service.service import EventBusy, Events, StaleVersion
from event_service.store import SCOPE_BOOK, SCOPE_CREATE, KeyTaken
from shared.contracts import Envelope
from shared.errors import EventStarted
from shared.idempotency import Idempotency, StoredAnswer
from shared.results import record_to_json

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def stored_event(event_id: int = 1, *, capacity: int = 100, booked: int = 0, version: int = 1) -> Event:
    return Event(
        name="Concert",
        description=None,
        event_date=NOW + timedelta(days=30),
        location="Dakar",
        category=None,
        total_capacity=capacity,
        ticket_price=Decimal("5000"),
        id=event_id,
        booked_seats=booked,
        created_at=NOW,
        updated_at=NOW,
        version=version,
    )


class MemoryRepository:
    """Events by id, answers kept by (scope, key), messages queued; `before_write` runs just
    before each seat write lands, to let a rival write first (the race under test)."""

    def __init__(self, *events: Event) -> None:
        self.events = {event.id: event for event in events}
        self.answers: dict[tuple[str, str], StoredAnswer] = {}
        self.queued: list[Envelope] = []
        self.seat_writes = 0
        self.before_write: list[Any] = []
        self.twin_commits_first: StoredAnswer | None = None
        # A writer on the same event that always gets there first.
        self.always_lost = False

    async def get(self, event_id: int) -> Event:
        return self.events[event_id]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator["MemoryRepository"]:
        yield self

    @asynccontextmanager
    async def seat_changes(self) -> AsyncIterator["MemorySeats"]:
        yield MemorySeats(self)

    # EventWrites
    async def answer(self, scope: str, idem: Idempotency | None) -> StoredAnswer | None:
        return None if idem is None else self.answers.get((scope, idem.key))

    async def read(self, event_id: int, *, lock: bool = False) -> Event:
        return self.events[event_id]

    async def insert(self, new: NewEvent) -> Event:
        event_id = max(self.events, default=0) + 1
        event = Event(**vars(new), id=event_id, booked_seats=0, created_at=NOW, updated_at=NOW, version=1)
        self.events[event_id] = event
        return event

    async def write(self, event_id: int, version: int, values: dict[str, Any]) -> Event | None:
        for rival in self.before_write:
            rival()
        self.before_write.clear()
        current = self.events[event_id]
        if current.version != version:
            return None
        self.events[event_id] = replace(current, **values, version=version + 1)
        return self.events[event_id]

    async def queue(self, message: Envelope) -> None:
        self.queued.append(message)

    async def keep(
        self, scope: str, idem: Idempotency | None, status_code: int, response: dict[str, Any]
    ) -> None:
        if idem is None:
            return
        if self.twin_commits_first is not None:
            # The unique key: the twin's insert committed, ours fails and rolls back.
            self.answers[(scope, idem.key)] = self.twin_commits_first
            self.twin_commits_first = None
            self.events.popitem()
            self.queued.pop()
            raise KeyTaken()
        self.answers[(scope, idem.key)] = StoredAnswer(status_code, response)


class MemorySeats:
    def __init__(self, repository: MemoryRepository) -> None:
        self.repository = repository

    async def read(self, event_id: int, scope: str, idem: Idempotency | None) -> Event | StoredAnswer:
        if idem is not None and (found := self.repository.answers.get((scope, idem.key))):
            return found
        return self.repository.events[event_id]

    async def write(
        self,
        after: Event,
        version: int,
        message: Envelope,
        idem: Idempotency | None,
        *,
        scope: str,
        response: dict[str, Any],
    ) -> bool:
        repo = self.repository
        repo.seat_writes += 1
        for rival in repo.before_write:
            rival()
        repo.before_write.clear()
        if idem is not None and (scope, idem.key) in repo.answers:
            raise KeyTaken()
        if repo.always_lost or repo.events[after.id].version != version:
            return False
        repo.events[after.id] = after
        repo.queued.append(message)
        if idem is not None:
            repo.answers[(scope, idem.key)] = StoredAnswer(200, response)
        return True


def events(repository: MemoryRepository, *, max_attempts: int = 10) -> tuple[Events, list[int]]:
    woken: list[int] = []
    use_cases = Events(
        repository,  # type: ignore[arg-type]
        published=lambda: woken.append(1),
        clock=lambda: NOW,
        max_attempts=max_attempts,
        backoff_seconds=0,
    )
    return use_cases, woken


def rival_books(repository: MemoryRepository, seats: int) -> Any:
    def book() -> None:
        current = repository.events[1]
        repository.events[1] = replace(
            current, booked_seats=current.booked_seats + seats, version=current.version + 1
        )

    return book


async def test_a_booking_that_lost_the_race_reads_again_and_counts_the_rivals_seats():
    repository = MemoryRepository(stored_event(capacity=100, booked=10, version=3))
    repository.before_write.append(rival_books(repository, 5))
    use_cases, woken = events(repository)
    result = await use_cases.book(1, 2, None)
    assert result.value == SeatsMoved(1, 2) and not result.replayed
    # First write refused (the rival moved the version), the second landed on the new one.
    after = repository.events[1]
    assert repository.seat_writes == 2
    assert (after.booked_seats, after.version) == (17, 5)
    assert [m.type for m in repository.queued] == ["event.seats_booked"]
    assert woken == [1]


async def test_a_booking_that_loses_every_attempt_is_busy_and_writes_nothing():
    repository = MemoryRepository(stored_event(booked=0))
    repository.always_lost = True
    use_cases, woken = events(repository, max_attempts=3)
    with pytest.raises(EventBusy) as busy:
        await use_cases.book(1, 1, None)
    assert busy.value.status == 409 and busy.value.extra["retryable"] is True
    assert repository.seat_writes == 3
    assert repository.events[1].booked_seats == 0 and repository.queued == [] and woken == []


async def test_the_rule_refuses_before_any_write_when_the_rival_took_the_last_seats():
    # 100 seats, 5 never sold: 95 bookable; the rival's 10 leave 5, fewer than the 6 asked.
    repository = MemoryRepository(stored_event(capacity=100, booked=85))
    repository.before_write.append(rival_books(repository, 10))
    use_cases, _ = events(repository)
    with pytest.raises(SeatsUnavailable):
        await use_cases.book(1, 6, None)
    assert repository.events[1].booked_seats == 95 and repository.queued == []


async def test_a_started_event_is_not_booked():
    repository = MemoryRepository(replace(stored_event(), event_date=NOW - timedelta(minutes=1)))
    use_cases, _ = events(repository)
    with pytest.raises(EventStarted):
        await use_cases.book(1, 1, None)
    assert repository.seat_writes == 0


async def test_a_retried_booking_under_its_key_replays_the_answer_without_a_write():
    repository = MemoryRepository(stored_event(booked=4))
    repository.answers[(SCOPE_BOOK, "k1")] = StoredAnswer(200, record_to_json(SeatsMoved(1, 4)))
    use_cases, woken = events(repository)
    result = await use_cases.book(1, 4, Idempotency("k1", "fp"))
    assert result.replayed and result.value == SeatsMoved(1, 4)
    assert repository.seat_writes == 0 and woken == []


async def test_a_twin_that_committed_first_under_the_same_key_is_answered_with_its_result():
    repository = MemoryRepository(stored_event(booked=0))

    def twin_books() -> None:
        rival_books(repository, 3)()
        repository.answers[(SCOPE_BOOK, "k1")] = StoredAnswer(200, record_to_json(SeatsMoved(1, 3)))

    repository.before_write.append(twin_books)
    use_cases, woken = events(repository)
    result = await use_cases.book(1, 3, Idempotency("k1", "fp"))
    # The seats were booked once, by the twin; this request answers its result.
    assert result.replayed and result.value == SeatsMoved(1, 3)
    assert repository.events[1].booked_seats == 3 and woken == []


async def test_a_change_with_a_stale_version_is_409_and_writes_nothing():
    repository = MemoryRepository(stored_event(version=4))
    use_cases, _ = events(repository)
    with pytest.raises(StaleVersion) as stale:
        await use_cases.update(1, {"name": "Renamed"}, expected_version=3)
    assert stale.value.extra == {"currentVersion": 4}
    assert repository.events[1].name == "Concert" and repository.queued == []


async def test_a_change_without_a_version_retries_after_a_rival_booking():
    repository = MemoryRepository(stored_event(booked=0, version=1))
    repository.before_write.append(rival_books(repository, 2))
    use_cases, woken = events(repository)
    event = await use_cases.update(1, {"name": "Renamed"}, expected_version=None)
    # The rival's seats kept, the name changed on top of them.
    assert (event.name, event.booked_seats, event.version) == ("Renamed", 2, 3)
    assert [m.type for m in repository.queued] == ["event.updated"] and woken == [1]


async def test_a_create_whose_twin_committed_first_replays_the_twins_event():
    repository = MemoryRepository()
    twin = stored_event(7)
    repository.twin_commits_first = StoredAnswer(201, record_to_json(twin))
    use_cases, woken = events(repository)
    new = NewEvent(
        name="Concert",
        description=None,
        event_date=NOW + timedelta(days=30),
        location="Dakar",
        category=None,
        total_capacity=100,
        ticket_price=Decimal("5000"),
    )
    result = await use_cases.create(new, Idempotency("k1", "fp"))
    assert result.replayed and result.value.id == 7
    # Our insert was rolled back with its message: nothing of ours is left.
    assert repository.events == {} and repository.queued == [] and woken == []
    assert (SCOPE_CREATE, "k1") in repository.answers
