"""Seat rules of an event: the safety margin, what can be booked and released (DB1), and the
checks a create or an update must pass; the records the repository returns. Plain code: no
I/O, no clock (time comes in as `now`)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.contracts.calls import MAX_SEATS_PER_REQUEST
from shared.errors import BadRequest, Conflict, EventStarted, RuleBroken, field_error

# DB1: 5 % of the capacity, rounded up, is never sold (overbooking cushion for the venue).
SAFETY_MARGIN_PERCENT = 5

INVALID_SEATS = "Invalid number of seats"
NOT_ENOUGH_AVAILABILITY = "Could not book seats. Not enough availability."


@dataclass(frozen=True)
class NewEvent:
    """What a create asks for; the repository adds the id, counters, version and dates."""

    name: str
    description: str | None
    event_date: datetime
    location: str
    category: str | None
    total_capacity: int
    ticket_price: Decimal


@dataclass(frozen=True)
class Event(NewEvent):
    """An event as stored: what its create asked for, and what the repository added; every
    write moves its version (DB2)."""

    id: int
    booked_seats: int
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def available_seats(self) -> int:
        return bookable_seats(self.total_capacity, self.booked_seats)


@dataclass(frozen=True)
class SeatsMoved:
    """A book or release that took effect: `seats` seats of event `event_id`."""

    event_id: int
    seats: int


class InvalidSeats(BadRequest):
    """REST1: the seats of a book or release request are not a positive integer (400)."""

    def __init__(self, reason: str) -> None:
        super().__init__(INVALID_SEATS, errors=[field_error("seats", reason)], extra={"success": False})


class SeatsUnavailable(Conflict):
    """Fewer bookable seats than asked for (409)."""

    def __init__(self, asked: int, bookable: int) -> None:
        super().__init__(
            NOT_ENOUGH_AVAILABILITY,
            extra={"success": False, "seatsRequested": asked, "availableSeats": bookable},
        )


class SeatsNotBooked(Conflict):
    """A release of more seats than are booked (409): it would free seats nobody holds."""

    def __init__(self, asked: int, booked: int) -> None:
        super().__init__(
            f"Could not release {asked} seats: only {booked} are booked.",
            extra={"success": False, "seatsRequested": asked, "bookedSeats": booked},
        )


class CapacityBelowBooked(Conflict):
    def __init__(self, capacity: int, booked: int) -> None:
        super().__init__(
            f"totalCapacity {capacity} is below the {booked} seats already booked.",
            errors=[field_error("totalCapacity", f"must be at least bookedSeats ({booked})")],
        )


class EventHasBookings(Conflict):
    def __init__(self, event_id: int, booked: int) -> None:
        super().__init__(
            f"Event {event_id} has {booked} booked seats; release them before deleting it.",
            extra={"bookedSeats": booked},
        )


class EventInThePast(RuleBroken):
    def __init__(self) -> None:
        super().__init__(
            "eventDate must be in the future.", errors=[field_error("eventDate", "must be in the future")]
        )


def safety_margin(capacity: int) -> int:
    """ceil(5 % of capacity), in integers so it never suffers a float rounding (DB1)."""
    return (capacity * SAFETY_MARGIN_PERCENT + 99) // 100


def bookable_seats(capacity: int, booked: int) -> int:
    """Seats still for sale: capacity - booked - margin, never negative (DB1).

    Every answer's `availableSeats` is this number."""
    return max(0, capacity - booked - safety_margin(capacity))


def parse_seats(value: Any) -> int:
    # exercise REST1, level 2: begin
    """The `seats` of a book/release body: a positive integer, else InvalidSeats (400).

    The body is accepted loosely and checked here, so each bad shape gets the course's 400
    rather than the fleet's generic 422 (REST1)."""
    # exercise REST1: begin
    if isinstance(value, bool) or value is None:
        raise InvalidSeats("is required and must be a positive integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidSeats("must be a whole number")
        value = int(value)
    if not isinstance(value, int):
        raise InvalidSeats("must be a positive integer")
    if value <= 0:
        raise InvalidSeats("must be greater than 0")
    if value > MAX_SEATS_PER_REQUEST:
        raise InvalidSeats(f"must be at most {MAX_SEATS_PER_REQUEST}")
    return value
    # exercise REST1: end
    # exercise REST1, level 2: end


def book(capacity: int, booked: int, seats: int) -> int:
    # exercise DB1, level 2: begin
    """bookedSeats after booking `seats` (DB1): seats > 0 and the margin stays free."""
    # exercise DB1: begin
    if seats <= 0:
        raise InvalidSeats("must be greater than 0")
    bookable = bookable_seats(capacity, booked)
    if seats > bookable:
        raise SeatsUnavailable(seats, bookable)
    return booked + seats
    # exercise DB1: end
    # exercise DB1, level 2: end


def release(booked: int, seats: int) -> int:
    # exercise DB1, level 2: begin
    """bookedSeats after releasing `seats`: never below zero, never more than were booked."""
    if seats <= 0:
        raise InvalidSeats("must be greater than 0")
    if seats > booked:
        raise SeatsNotBooked(seats, booked)
    return booked - seats
    # exercise DB1, level 2: end


def check_new_event_date(event_date: datetime, now: datetime) -> None:
    """A created (or moved) event must lie in the future."""
    if event_date <= now:
        raise EventInThePast()


def has_started(event_date: datetime | None, now: datetime) -> bool:
    return event_date is not None and event_date <= now


def check_bookable(event_id: int, event_date: datetime | None, now: datetime) -> None:
    """No seat is booked once the event has started (its date is the boundary). A release
    never checks it: a saga must still be able to give seats back after the date."""
    if event_date is not None and has_started(event_date, now):
        raise EventStarted(
            event_id, event_date, "its seats can no longer be booked", extra={"success": False}
        )


def check_date_change(
    event_id: int, current: datetime | None, new: datetime, booked: int, now: datetime
) -> None:
    """A new date lies in the future (422); an event that has started while seats are booked
    keeps its date (409): moving it would reopen bookings and cancellations of a past event."""
    if current is not None and booked > 0 and has_started(current, now):
        raise EventStarted(
            event_id,
            current,
            f"its date can no longer change ({booked} seats are booked)",
            extra={"success": False},
        )
    check_new_event_date(new, now)


def check_capacity(capacity: int, booked: int) -> None:
    if capacity < booked:
        raise CapacityBelowBooked(capacity, booked)


def check_deletable(event_id: int, booked: int) -> None:
    if booked > 0:
        raise EventHasBookings(event_id, booked)
