"""Rules of the analytics read model: occupancy (POLY4), and which change may overwrite the
stored document (POLY5) so that duplicates and out-of-order messages never win.

Documents are plain dicts in their stored (camelCase) shape; money is kept as a decimal
string in `_source` so it round-trips exactly, and indexed as a scaled_float.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from shared.contracts import EventMessage, ReservationMessage, UnreadableMessage
from shared.errors import RuleBroken

TWO_PLACES = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO_MONEY = "0.00"
# Reservation statuses whose money and seats count as sold.
COUNTED_STATUSES = frozenset({"confirmed"})

Doc = dict[str, Any]


class MalformedMessage(UnreadableMessage):
    """A value the projection cannot use (an event id below 1, an amount that is no number);
    the consumer dead-letters its message."""


class CapacityExceeded(RuleBroken):  # -> 422
    """More booked seats than the event holds."""


def occupancy_rate(booked: int, capacity: int) -> Decimal:
    # exercise POLY4, level 2: begin
    """booked / capacity x 100 with two decimals, half up (POLY4); 0 when there is no
    capacity, never negative, never above 100 even if the counters disagree."""
    # exercise POLY4: begin
    if capacity <= 0 or booked <= 0:
        return Decimal("0.00")
    rate = (Decimal(booked) * HUNDRED / Decimal(capacity)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
    return min(rate, HUNDRED.quantize(TWO_PLACES))
    # exercise POLY4: end
    # exercise POLY4, level 2: end


def money(value: Any) -> Decimal:
    """A decimal amount with two places from a number or a numeric string."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise MalformedMessage(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise MalformedMessage(f"not an amount: {value!r}")
    return amount.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def with_occupancy(doc: Doc) -> Doc:
    # exercise POLY4, level 2: begin
    """The document with availableSeats and occupancyRate derived from its counters."""
    capacity = int(doc.get("totalCapacity") or 0)
    booked = int(doc.get("bookedSeats") or 0)
    available = doc.get("availableSeats")
    doc["availableSeats"] = max(capacity - booked, 0) if available is None else int(available)
    doc["occupancyRate"] = float(occupancy_rate(booked, capacity))
    return doc
    # exercise POLY4, level 2: end


def _metrics_defaults(event_id: int) -> Doc:
    # What a document holds before any event or reservation message reached it.
    return {
        "eventId": event_id,
        "totalCapacity": 0,
        "bookedSeats": 0,
        "availableSeats": 0,
        "occupancyRate": 0.0,
        "ticketPrice": ZERO_MONEY,
        "revenue": ZERO_MONEY,
        "confirmedReservations": 0,
        "reservationsSeq": -1,
        "eventVersion": 0,
        "deleted": False,
        "placeholder": True,
    }


def event_id_of(value: Any) -> int:
    try:
        event_id = int(value)
    except (TypeError, ValueError) as exc:
        raise MalformedMessage(f"not an event id: {value!r}") from exc
    if event_id < 1:
        raise MalformedMessage(f"not an event id: {value!r}")
    return event_id


def event_fields(event: EventMessage) -> tuple[int, int, Doc]:
    """(eventId, version, descriptive fields) of an event as event.* messages carry it."""
    event_id = event_id_of(event.id)
    fields: Doc = {
        "name": event.name,
        "description": event.description,
        "location": event.location,
        "category": event.category,
        "eventDate": event.model_dump(mode="json")["eventDate"],
        "totalCapacity": event.total_capacity,
        "bookedSeats": event.booked_seats,
        "availableSeats": event.available_seats,
        "ticketPrice": str(money(event.ticket_price.amount)),
    }
    return event_id, event.version, fields


def apply_event(current: Doc | None, event: EventMessage, *, deleted: bool, at: datetime) -> Doc | None:
    # exercise POLY5, level 2: begin
    """The document after an event message, or None when the message is stale (POLY5): a
    duplicate or a late older message changes nothing, and a deleted event (kept as a
    tombstone carrying its version) is never brought back by a late update.
    """
    event_id, version, fields = event_fields(event)
    # exercise POLY5: begin
    stored = int(current.get("eventVersion") or 0) if current else 0
    if current and current.get("deleted") and version <= stored:
        return None
    if version < stored or (version == stored and not deleted) or (current is None and version < 1):
        return None
    # exercise POLY5: end
    doc = {**(current or _metrics_defaults(event_id)), **fields}
    doc.update(eventId=event_id, eventVersion=version, deleted=deleted, placeholder=False)
    doc["updatedAt"] = at.isoformat()
    return with_occupancy(doc)
    # exercise POLY5, level 2: end


@dataclass(frozen=True)
class ReservationTotals:
    """What the confirmed reservations of one event add up to, as of `seq`: the highest
    sequence number (in the reservations index) among that event's reservation documents."""

    confirmed: int
    revenue: Decimal
    seq: int = -1


def apply_totals(
    current: Doc | None, event_id: int, totals: ReservationTotals, *, at: datetime
) -> Doc | None:
    """The document with fresh reservation totals, or None when newer totals are stored.

    Every change to a reservation gets a higher sequence number than all before it (one
    shard), so totals counted over a higher `seq` saw more: a recount that finishes late
    with an older view never replaces a newer one, and no lock is needed between workers
    or replicas.
    """
    revenue = str(totals.revenue.quantize(TWO_PLACES))
    if current is not None:
        stored = int(current.get("reservationsSeq", -1))
        unchanged = (current.get("confirmedReservations"), current.get("revenue")) == (
            totals.confirmed,
            revenue,
        )
        if stored > totals.seq or (stored == totals.seq and unchanged):
            return None
    doc = dict(current) if current is not None else _metrics_defaults(event_id)
    doc.update(
        confirmedReservations=totals.confirmed,
        revenue=revenue,
        reservationsSeq=totals.seq,
        updatedAt=at.isoformat(),
    )
    return doc


def apply_batch(
    current: Doc | None,
    event_id: int,
    events: list[tuple[EventMessage, bool]],
    totals: ReservationTotals | None,
    *,
    at: datetime,
) -> tuple[Doc | None, list[bool]]:
    """The document after an event's messages (each with whether it is a deletion), in the
    order given, then fresh reservation totals when counted: the rules of `apply_event` and
    `apply_totals` one after the other. (None when nothing changed, and per message whether it
    applied.)"""
    doc, changed, applied = current, False, []
    for event, deleted in events:
        new = apply_event(doc, event, deleted=deleted, at=at)
        applied.append(new is not None)
        if new is not None:
            doc, changed = new, True
    if totals is not None:
        new = apply_totals(doc, event_id, totals, at=at)
        if new is not None:
            doc, changed = new, True
    return (doc if changed else None), applied


def reservation_fields(reservation: ReservationMessage, *, at: datetime) -> Doc:
    """The small per-reservation document the revenue recount sums over."""
    total = reservation.booking_details.total_amount
    return {
        "reservationId": reservation.id,
        "eventId": event_id_of(reservation.event_id),
        "status": reservation.status,
        "seats": reservation.booking_details.seats,
        "totalAmount": str(money(total.amount if total is not None else 0)),
        "version": reservation.version,
        "updatedAt": at.isoformat(),
    }


def indexed_by_hand(current: Doc | None, given: Doc, *, at: datetime) -> Doc:
    """A document indexed through the API (an operator's repair): the given fields, but the
    ordering state stays the projection's. The version is the one the projection stored (0
    for a new document), never the given one, so the next message of the event applies over
    the hand-written fields: a document written by hand, whatever version it claims, can
    never hold the projection back, nor bring a deleted event back to life."""
    event_id = int(given["eventId"])
    doc = {**(current or _metrics_defaults(event_id)), **given}
    stored = int(current.get("eventVersion") or 0) if current else 0
    deleted = bool(current.get("deleted")) if current else False
    doc.update(eventVersion=stored, deleted=deleted, placeholder=False, availableSeats=None)
    doc["updatedAt"] = at.isoformat()
    return with_occupancy(doc)


def updated_by_hand(current: Doc, change: Doc, *, at: datetime) -> Doc:
    """The document with counters corrected by hand; occupancy follows them."""
    doc = {**current, **change}
    if int(doc.get("bookedSeats") or 0) > int(doc.get("totalCapacity") or 0):
        raise CapacityExceeded(
            "bookedSeats cannot exceed totalCapacity.",
            extra={"bookedSeats": doc.get("bookedSeats"), "totalCapacity": doc.get("totalCapacity")},
        )
    doc["availableSeats"] = None
    doc["updatedAt"] = at.isoformat()
    return with_occupancy(doc)
