"""The event service's use cases: create, change and delete events, book and release seats.

Each one owns its write: it opens the transaction (or, for a seat change, the connection) the
store gives it, reads the current event, applies the domain's rule, chooses the message that
announces the change, asks the store for one conditional write (DB2), and retries when it
lost a race. Once a change has committed it wakes the outbox relay. It returns records of
the domain; the api renders them."""

import asyncio
import random
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from event_service import domain, messaging
from event_service.domain import Event, NewEvent, SeatsMoved
from event_service.store import (
    SCOPE_BOOK,
    SCOPE_CREATE,
    SCOPE_RELEASE,
    EventFilter,
    EventRepository,
    KeyTaken,
    event_from_json,
    seats_from_json,
)
from shared import contracts
from shared.clock import utc_now
from shared.errors import Conflict
from shared.idempotency import Idempotency, StoredAnswer
from shared.metrics import Metrics
from shared.results import WriteResult, record_to_json


class StaleVersion(Conflict):
    def __init__(self, event_id: int, expected: int, current: int) -> None:
        super().__init__(
            f"Event {event_id} is at version {current}, not {expected}: read it again and retry.",
            extra={"currentVersion": current},
        )


class EventBusy(Conflict):
    """Optimistic locking lost every attempt (DB2): many writers on one event; retry later."""

    def __init__(self, event_id: int) -> None:
        super().__init__(
            f"Event {event_id} is busy; retry the request.", extra={"success": False, "retryable": True}
        )


class Events:
    def __init__(
        self,
        repository: EventRepository,
        *,
        published: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utc_now,
        max_attempts: int = 10,
        backoff_seconds: float = 0.005,
        max_backoff_seconds: float = 0.2,
        metrics: Metrics | None = None,
    ) -> None:
        self.repository = repository
        self.published = published  # wakes the outbox relay
        # What a change writes as updatedAt, and its message announces.
        self.clock = clock
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        # Where this process's requests that lost a race on an event queue (striped by id).
        self._turns = [asyncio.Lock() for _ in range(64)]
        self._conflicts = (
            metrics.counter(
                "event_version_conflicts_total", "Optimistic-lock conflicts (DB2)", ("operation",)
            )
            if metrics
            else None
        )

    async def get(self, event_id: int) -> Event:
        return await self.repository.get(event_id)

    async def list(
        self, where: EventFilter, *, available: bool, offset: int, limit: int
    ) -> tuple[list[Event], int]:
        """A page of events matching `where`; `available` keeps future events with seats left."""
        if available:
            where = replace(where, available_at=self.clock())
        return await self.repository.list(where, offset=offset, limit=limit)

    async def create(self, new: NewEvent, idem: Idempotency | None) -> WriteResult[Event]:
        """Insert the event with its event.created message and the answer kept under the key,
        in one transaction; a key seen before replays the kept answer (422 for another body)."""
        domain.check_new_event_date(new.event_date, self.clock())
        # Two passes: a twin with the same key that committed first rolls ours back whole,
        # and the second pass replays its answer.
        for _ in range(2):
            try:
                async with self.repository.transaction() as tx:
                    found = await tx.answer(SCOPE_CREATE, idem)
                    if found is not None:
                        return WriteResult(event_from_json(found.body), replayed=True)
                    event = await tx.insert(new)
                    await tx.queue(messaging.event_message(contracts.EventCreated, event))
                    await tx.keep(SCOPE_CREATE, idem, 201, record_to_json(event))
            except KeyTaken:
                if idem is None:
                    raise
                continue
            self.published()
            return WriteResult(event)
        assert idem is not None
        raise Conflict(f"Idempotency-Key '{idem.key}' is in use by a concurrent request; retry.")

    async def update(self, event_id: int, changes: Mapping[str, Any], expected_version: int | None) -> Event:
        """Change the given fields if the rules allow it on the current event (capacity never
        below the booked seats, a moved date still in the future, a started event with bookings
        keeps its date), conditional on `expected_version` (409 when stale); without one, on
        whatever version is current."""
        now = self.clock()
        # Without an expected version the client accepts any current one, so a race with a
        # booking is retried rather than answered 409.
        attempts = 1 if expected_version is not None else self.max_attempts
        for attempt in range(1, attempts + 1):
            async with self.repository.transaction() as tx:
                current = await tx.read(event_id)
                version = current.version if expected_version is None else expected_version
                if current.version != version:
                    raise StaleVersion(event_id, version, current.version)
                domain.check_capacity(
                    changes.get("total_capacity", current.total_capacity), current.booked_seats
                )
                new_date = changes.get("event_date")
                if new_date is not None and new_date != current.event_date:
                    domain.check_date_change(
                        event_id, current.event_date, new_date, current.booked_seats, now
                    )
                event = await tx.write(event_id, version, {**changes, "updated_at": now})
                if event is not None:
                    await tx.queue(messaging.event_message(contracts.EventUpdated, event))
            if event is not None:
                self.published()
                return event
            self._count_conflict("update")
            if expected_version is not None:
                current = await self.repository.get(event_id)
                raise StaleVersion(event_id, expected_version, current.version)
            await self._pause(attempt)
        raise EventBusy(event_id)

    async def delete(self, event_id: int) -> None:
        """Refused while seats are booked."""
        async with self.repository.transaction() as tx:
            # Locked: a booking racing this delete waits, then finds no row (404).
            event = await tx.read(event_id, lock=True)
            domain.check_deletable(event_id, event.booked_seats)
            await tx.delete(event_id)
            await tx.queue(messaging.event_message(contracts.EventDeleted, event))
        self.published()

    async def book(self, event_id: int, seats: int, idem: Idempotency | None) -> WriteResult[SeatsMoved]:
        """REST1 + DB1 + DB2: never oversells, whatever the concurrency; never once the event
        has started (409 naming eventDate)."""
        now = self.clock()

        def rule(current: Event) -> int:
            domain.check_bookable(event_id, current.event_date, now)
            return domain.book(current.total_capacity, current.booked_seats, seats)

        return await self._change_seats(SCOPE_BOOK, contracts.EventSeatsBooked, event_id, seats, rule, idem)

    async def release(self, event_id: int, seats: int, idem: Idempotency | None) -> WriteResult[SeatsMoved]:
        """Give seats back (a saga's compensation); with an Idempotency-Key, applied once."""

        def rule(current: Event) -> int:
            return domain.release(current.booked_seats, seats)

        return await self._change_seats(
            SCOPE_RELEASE, contracts.EventSeatsReleased, event_id, seats, rule, idem
        )

    async def fence_booking(self, key: str) -> SeatsMoved | None:
        """For a caller that gave up on a booking: the booking made under `key`, or None once
        the key is fenced (no booking under it, ever)."""
        return await self.repository.fence_booking(key)

    async def _change_seats(
        self,
        scope: str,
        message_type: type[contracts.SeatsMoved],
        event_id: int,
        seats: int,
        rule: Callable[[Event], int],
        idem: Idempotency | None,
    ) -> WriteResult[SeatsMoved]:
        # exercise DB2, level 2: begin
        """Read the event (or the answer kept under the key), let `rule` give the new
        bookedSeats, and write them only if the version did not move (DB2), with the message
        that announces the row as the write leaves it (its version, bookedSeats and the
        clock's updatedAt, known before it is sent). A moved version is read again and
        retried; a twin with the same key (or the fence of its caller) that committed first
        makes the next read replay its answer (or refuse the fenced key)."""
        moved = SeatsMoved(event_id, seats)
        async with self.repository.seat_changes() as tx:

            async def attempt() -> WriteResult[SeatsMoved] | None:
                current = await tx.read(event_id, scope, idem)
                if isinstance(current, StoredAnswer):
                    return WriteResult(seats_from_json(current.body), replayed=True)
                after = replace(
                    current, booked_seats=rule(current), version=current.version + 1, updated_at=self.clock()
                )
                message = messaging.seats_message(message_type, after, seats)
                try:
                    written = await tx.write(
                        after, current.version, message, idem, scope=scope, response=record_to_json(moved)
                    )
                except KeyTaken:
                    found = await tx.read(event_id, scope, idem)
                    if isinstance(found, StoredAnswer):
                        return WriteResult(seats_from_json(found.body), replayed=True)
                    raise
                return WriteResult(moved) if written else None

            result = await attempt()
            tried = 1
            while result is None:
                self._count_conflict(scope)
                if tried >= self.max_attempts:
                    raise EventBusy(event_id)
                await self._pause(tried)
                tried += 1
                # A request that lost the race waits for the other losers of this process on
                # the same event before it reads again, instead of racing them once more. The
                # version guard alone decides; this only stops the process's own requests from
                # colliding with each other again and again.
                async with self._turns[event_id % len(self._turns)]:
                    result = await attempt()
        # A replay changed nothing, so it wrote no message to publish.
        if not result.replayed:
            self.published()
        return result
        # exercise DB2, level 2: end

    async def _pause(self, attempt: int) -> None:
        # Full jitter: writers that collided spread out instead of colliding again in step.
        ceiling = min(self.max_backoff_seconds, self.backoff_seconds * 2**attempt)
        await asyncio.sleep(random.uniform(0, ceiling))

    def _count_conflict(self, operation: str) -> None:
        if self._conflicts is not None:
            self._conflicts.labels(operation).inc()
