"""Reservation rules: statuses and their legal transitions, timeline entries (DB4), seat holds
at the event service, totals. Plain code: no I/O, and the time comes in as an argument."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from shared.contracts import RoutingKey
from shared.errors import Conflict
from shared.money import Money


class Status(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class NewReservation:
    """What a create asks for; the use case adds the id, status, dates, seat hold and total."""

    event_id: int
    user_id: str
    user_details: dict[str, Any]  # name, email, phone as given
    seats: int
    currency: str
    ticket_price: Decimal | None  # stated by a saga only (the price it charges)
    saga_id: str | None
    metadata: dict[str, Any]


NEXT: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.CONFIRMED, Status.CANCELLED}),
    Status.CONFIRMED: frozenset({Status.CANCELLED, Status.REFUNDED}),
    Status.CANCELLED: frozenset(),
    Status.REFUNDED: frozenset(),
}

# Statuses whose seats still count as taken (DB3 statistics and seat holds).
LIVE: frozenset[Status] = frozenset({Status.PENDING, Status.CONFIRMED})
# Statuses that give the seats back.
ENDED: frozenset[Status] = frozenset({Status.CANCELLED, Status.REFUNDED})


class SeatHold(StrEnum):
    """Where a direct reservation's seats stand at the event service (saga ones have none:
    the saga books and releases them)."""

    REQUESTED = "requested"  # book sent, outcome not known yet
    HELD = "held"  # booked under reservation:<id>:book
    REFUSED = "refused"  # the event service said no: nothing was booked
    RESOLVING = "resolving"  # ended while the book outcome was unknown: re-book (replay), then release
    RELEASING = "releasing"  # ended while held: release under reservation:<id>:release
    RELEASED = "released"  # given back, exactly once


# Holds the seat sweep must drive to a final state.
UNSETTLED: frozenset[SeatHold] = frozenset({SeatHold.RESOLVING, SeatHold.RELEASING})


class IllegalTransition(Conflict):
    """The asked-for status cannot follow the current one."""

    def __init__(self, current: Status, wanted: Status) -> None:
        allowed = ", ".join(sorted(NEXT[current])) or "none (final status)"
        super().__init__(
            f"A {current.value} reservation cannot become {wanted.value}; allowed: {allowed}.",
            extra={"currentStatus": current.value, "wantedStatus": wanted.value},
        )


class StaleVersion(Conflict):
    """The caller's expected version is not the stored one: someone changed it first."""

    def __init__(self, reservation_id: str, expected: int, actual: int | None = None) -> None:
        extra: dict[str, Any] = {"expectedVersion": expected}
        if actual is not None:
            extra["currentVersion"] = actual
        super().__init__(
            f"Reservation {reservation_id} was changed by someone else (expected version {expected}).",
            extra=extra,
        )


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a reservation's history (DB4)."""

    status: Status
    timestamp: datetime
    reason: str
    updated_by: str

    def as_document(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "timestamp": self.timestamp,
            "reason": self.reason,
            "updatedBy": self.updated_by,
        }


def created(*, at: datetime, reason: str = "reservation created", updated_by: str = "api") -> TimelineEntry:
    """The first timeline entry: every reservation starts pending."""
    return TimelineEntry(Status.PENDING, at, reason, updated_by)


def transition(
    current: Status, wanted: Status, *, at: datetime, reason: str = "", updated_by: str = "system"
) -> TimelineEntry:
    """Timeline entry for a legal status change (DB4); refuse the rest with a 409."""
    if wanted not in NEXT[current]:
        raise IllegalTransition(current, wanted)
    return TimelineEntry(wanted, at, reason or f"status changed to {wanted.value}", updated_by)


def reinstate(
    current: Status, *, at: datetime, reason: str, updated_by: str = "saga"
) -> TimelineEntry | None:
    """A saga-made reservation cancelled by a cancellation saga that was then undone (its
    refund did not happen) is confirmed again; already confirmed: nothing to do (None). This
    is the only way back from cancelled, and only a saga takes it."""
    if current is Status.CONFIRMED:
        return None
    if current is not Status.CANCELLED:
        raise IllegalTransition(current, Status.CONFIRMED)
    return TimelineEntry(Status.CONFIRMED, at, reason or "cancellation undone", updated_by)


def cancelled_by_saga(status: Status, saga_id: str | None) -> bool:
    """A live booking a saga made: cancelling it must refund and release, so the
    orchestrator's cancellation saga does it (a status change alone would leak both)."""
    return saga_id is not None and status in LIVE


class EndedBySagaOnly(Conflict):
    """A status change alone would end a saga-made booking without its refund and release."""

    def __init__(self, reservation_id: str, current: Status, wanted: Status) -> None:
        super().__init__(
            f"Reservation {reservation_id} was booked by a saga: cancel it with POST "
            f"/api/reservations/{reservation_id}/cancel (its cancellation saga refunds the payment "
            f"and releases the seats), not by setting its status to {wanted.value}.",
            extra={"currentStatus": current.value, "wantedStatus": wanted.value},
        )


def check_client_status_change(
    reservation_id: str, current: Status, saga_id: str | None, wanted: Status
) -> None:
    """A client may not end a live saga-made booking by its status (PUT /status)."""
    if wanted in ENDED and wanted is not current and cancelled_by_saga(current, saga_id):
        raise EndedBySagaOnly(reservation_id, current, wanted)


def hold_after(status: Status, hold: SeatHold | None) -> SeatHold | None:
    """The seat hold a reservation gets when it moves to `status`: an ending reservation that
    booked its own seats must give them back."""
    if status not in ENDED or hold is None:
        return hold
    if hold is SeatHold.HELD:
        return SeatHold.RELEASING
    if hold is SeatHold.REQUESTED:
        # The book may or may not have landed: replaying it by key tells, then release.
        return SeatHold.RESOLVING
    return hold


def message_type(status: Status) -> RoutingKey:
    """Routing key announcing a reservation that reached `status`."""
    return (
        RoutingKey.RESERVATION_CREATED
        if status is Status.PENDING
        else RoutingKey(f"reservation.{status.value}")
    )


def total_amount(seats: int, ticket_price: Decimal, currency: str) -> Decimal:
    """The booking's total: Money.total, the amount the saga charges too."""
    return Money.of(ticket_price, currency).total(seats).amount
