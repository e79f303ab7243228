"""Which message may overwrite the analytics document (POLY5), without a search engine."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic.alias_generators import to_snake

from analytics_service.domain import (
    CapacityExceeded,
    MalformedMessage,
    ReservationTotals,
    apply_batch,
    apply_event,
    apply_totals,
    indexed_by_hand,
    money,
    reservation_fields,
    updated_by_hand,
)
from shared.contracts import EventUpdated, ReservationConfirmed, UnreadableMessage, new_envelope, read
from tests.messages import a_reservation, an_event

NOON = datetime(2030, 1, 1, 12, tzinfo=UTC)


def event(version: int, **fields):
    data = {
        "name": "Gala",
        "location": "Dakar",
        "category": "gala",
        "event_date": datetime(2030, 2, 1, 20, tzinfo=UTC),
        "total_capacity": 10,
        "booked_seats": 4,
        "available_seats": 6,
        "ticket_price": 2500,
    }
    return an_event(EventUpdated, 7, version, **{**data, **{to_snake(k): v for k, v in fields.items()}})


def test_a_newer_event_version_applies_with_its_occupancy():
    doc = apply_event(None, event(1), deleted=False, at=NOON)
    assert doc is not None
    assert (doc["eventId"], doc["eventVersion"], doc["occupancyRate"], doc["ticketPrice"]) == (
        7,
        1,
        40.0,
        "2500.00",
    )
    newer = apply_event(doc, event(2, bookedSeats=9, availableSeats=1), deleted=False, at=NOON)
    assert newer is not None and newer["occupancyRate"] == 90.0


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_or_same_version_is_stale(version):
    stored = apply_event(None, event(2), deleted=False, at=NOON)
    assert apply_event(stored, event(version, name="Old"), deleted=False, at=NOON) is None


def test_an_event_update_keeps_the_reservation_totals():
    stored = apply_totals(None, 7, ReservationTotals(3, Decimal("7500"), 5), at=NOON)
    doc = apply_event(stored, event(1), deleted=False, at=NOON)
    assert doc is not None
    assert (doc["confirmedReservations"], doc["revenue"], doc["placeholder"]) == (3, "7500.00", False)


def test_a_tombstone_refuses_every_older_or_equal_version():
    stored = apply_event(None, event(1), deleted=False, at=NOON)
    tomb = apply_event(stored, event(2), deleted=True, at=NOON)
    assert tomb is not None and tomb["deleted"] is True
    assert apply_event(tomb, event(2), deleted=False, at=NOON) is None
    assert apply_event(tomb, event(2), deleted=True, at=NOON) is None


def test_totals_from_an_older_recount_never_replace_newer_ones():
    newer = apply_totals(None, 7, ReservationTotals(2, Decimal(20), 9), at=NOON)
    assert apply_totals(newer, 7, ReservationTotals(1, Decimal(10), 8), at=NOON) is None
    assert apply_totals(newer, 7, ReservationTotals(2, Decimal(20), 9), at=NOON) is None
    fresher = apply_totals(newer, 7, ReservationTotals(3, Decimal(30), 9), at=NOON)
    assert fresher is not None and fresher["revenue"] == "30.00"


def test_reservation_fields_are_what_the_recount_needs():
    doc = reservation_fields(
        a_reservation(ReservationConfirmed, "r1", 7, version=3, seats=2, amount="5000.5", currency="EUR"),
        at=NOON,
    )
    assert (doc["reservationId"], doc["eventId"], doc["seats"], doc["totalAmount"]) == ("r1", 7, 2, "5000.50")


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"id": "r1", "eventId": "x", "status": "confirmed", "version": 1},
        {"id": "r1", "eventId": 1, "status": "confirmed"},
    ],
)
def test_an_unusable_reservation_message_is_malformed(data):
    with pytest.raises(UnreadableMessage):
        read(new_envelope("reservation.confirmed", "RESERVATION", "r1", data))


def test_an_unusable_event_message_is_malformed():
    with pytest.raises(UnreadableMessage):
        read(new_envelope("event.updated", "EVENT", 7, {"id": 7}))
    with pytest.raises(MalformedMessage):
        apply_event(None, event(1, id=0), deleted=False, at=NOON)
    with pytest.raises(MalformedMessage):
        money("NaN")


def test_a_correction_by_hand_cannot_book_beyond_capacity():
    stored = apply_event(None, event(1), deleted=False, at=NOON)
    assert stored is not None
    with pytest.raises(CapacityExceeded):
        updated_by_hand(stored, {"totalCapacity": 3}, at=NOON)
    fixed = updated_by_hand(stored, {"bookedSeats": 10}, at=NOON)
    assert (fixed["availableSeats"], fixed["occupancyRate"]) == (0, 100.0)


def test_indexing_by_hand_never_lowers_the_stored_version():
    stored = apply_event(None, event(4), deleted=False, at=NOON)
    doc = indexed_by_hand(
        stored,
        {"eventId": 7, "name": "Gala", "totalCapacity": 10, "bookedSeats": 1, "eventVersion": 0},
        at=NOON,
    )
    assert (doc["eventVersion"], doc["availableSeats"], doc["occupancyRate"]) == (4, 9, 10.0)


def test_a_hand_written_version_never_holds_the_projection_back():
    stored = apply_event(None, event(4), deleted=False, at=NOON)
    doc = indexed_by_hand(
        stored,
        {"eventId": 7, "name": "Gala", "totalCapacity": 4_683_775, "bookedSeats": 1, "eventVersion": 10**9},
        at=NOON,
    )
    assert doc["eventVersion"] == 4
    after = apply_event(doc, event(5), deleted=False, at=NOON)
    assert after is not None and after["eventVersion"] == 5
    assert after["totalCapacity"] != 4_683_775


def test_a_hand_written_document_does_not_bring_a_deleted_event_back():
    tombstone = apply_event(
        apply_event(None, event(4), deleted=False, at=NOON), event(4), deleted=True, at=NOON
    )
    doc = indexed_by_hand(tombstone, {"eventId": 7, "name": "Back?", "eventVersion": 99}, at=NOON)
    assert doc["deleted"] is True and doc["eventVersion"] == 4


def test_a_batch_of_an_events_messages_applies_each_by_the_rules_of_one():
    messages = [(event(2, bookedSeats=5, availableSeats=5), False), (event(1), False), (event(3), False)]
    doc, applied = apply_batch(None, 7, messages, None, at=NOON)
    assert applied == [True, False, True]
    one_at_a_time = None
    for message, deleted in messages:
        one_at_a_time = apply_event(one_at_a_time, message, deleted=deleted, at=NOON) or one_at_a_time
    assert doc == one_at_a_time
    assert doc is not None and doc["eventVersion"] == 3


def test_a_batch_adds_fresh_totals_after_its_messages_and_nothing_when_all_is_stale():
    current, _ = apply_batch(None, 7, [(event(2), False)], None, at=NOON)
    totals = ReservationTotals(confirmed=2, revenue=Decimal("5000"), seq=4)
    doc, applied = apply_batch(current, 7, [(event(1), False)], totals, at=NOON)
    assert applied == [False]
    assert doc is not None and (doc["eventVersion"], doc["confirmedReservations"], doc["revenue"]) == (
        2,
        2,
        "5000.00",
    )
    assert apply_batch(doc, 7, [(event(2), False)], totals, at=NOON) == (None, [False])


def test_a_deletion_in_a_batch_wins_over_the_late_update_after_it():
    doc, applied = apply_batch(
        None, 7, [(event(1), False), (event(2), True), (event(2), False)], None, at=NOON
    )
    assert applied == [True, True, False]
    assert doc is not None and doc["deleted"] is True
