"""The event service's use cases: create, change and delete events, book and release seats.

Each one reads the clock, hands the domain's rules to the repository (which applies them to
the current row under optimistic locking, DB2), and wakes the outbox relay once a change has
committed. It returns records of the domain; the api renders them."""

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from event_service import domain
from event_service.domain import Event, NewEvent, SeatsMoved
from event_service.store import EventFilter, EventRepository
from shared.clock import utc_now
from shared.idempotency import Idempotency
from shared.results import WriteResult

R = TypeVar("R")


class Events:
    def __init__(
        self,
        repository: EventRepository,
        *,
        published: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.repository = repository
        self.published = published  # wakes the outbox relay
        self.clock = clock

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
        domain.check_new_event_date(new.event_date, self.clock())
        return self._announce(await self.repository.create(new, idem))

    async def update(self, event_id: int, changes: Mapping[str, Any], expected_version: int | None) -> Event:
        """Change the given fields if the rules allow it on the current event (capacity never
        below the booked seats, a moved date still in the future, a started event with bookings
        keeps its date)."""
        now = self.clock()

        def check(current: Event) -> None:
            domain.check_capacity(changes.get("total_capacity", current.total_capacity), current.booked_seats)
            new_date = changes.get("event_date")
            if new_date is not None and new_date != current.event_date:
                domain.check_date_change(event_id, current.event_date, new_date, current.booked_seats, now)

        event = await self.repository.update(event_id, changes, expected_version, now, check)
        self.published()
        return event

    async def delete(self, event_id: int) -> None:
        """Refused while seats are booked."""

        def check(current: Event) -> None:
            domain.check_deletable(event_id, current.booked_seats)

        await self.repository.delete(event_id, check)
        self.published()

    async def book(self, event_id: int, seats: int, idem: Idempotency | None) -> WriteResult[SeatsMoved]:
        """REST1 + DB1 + DB2: never oversells, whatever the concurrency; never once the event
        has started (409 naming eventDate)."""
        now = self.clock()

        def rule(current: Event) -> int:
            domain.check_bookable(event_id, current.event_date, now)
            return domain.book(current.total_capacity, current.booked_seats, seats)

        return self._announce(await self.repository.book(event_id, seats, rule, idem))

    async def release(self, event_id: int, seats: int, idem: Idempotency | None) -> WriteResult[SeatsMoved]:
        """Give seats back (a saga's compensation); with an Idempotency-Key, applied once."""

        def rule(current: Event) -> int:
            return domain.release(current.booked_seats, seats)

        return self._announce(await self.repository.release(event_id, seats, rule, idem))

    async def fence_booking(self, key: str) -> SeatsMoved | None:
        """For a caller that gave up on a booking: the booking made under `key`, or None once
        the key is fenced (no booking under it, ever)."""
        return await self.repository.fence_booking(key)

    def _announce(self, result: WriteResult[R]) -> WriteResult[R]:
        # A replay changed nothing, so it wrote no message to publish.
        if not result.replayed:
            self.published()
        return result
