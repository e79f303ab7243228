"""Reservation rules without I/O: the status machine, timeline entries, seat holds, totals."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from reservation_service.domain import (
    NEXT,
    IllegalTransition,
    SeatHold,
    Status,
    created,
    hold_after,
    message_type,
    total_amount,
    transition,
)

NOON = datetime(2025, 12, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (Status.PENDING, Status.CONFIRMED),
        (Status.PENDING, Status.CANCELLED),
        (Status.CONFIRMED, Status.CANCELLED),
        (Status.CONFIRMED, Status.REFUNDED),
    ],
)
def test_legal_transitions_give_their_timeline_entry(current, wanted):
    entry = transition(current, wanted, at=NOON, reason="why", updated_by="saga")
    assert entry.as_document() == {
        "status": wanted.value,
        "timestamp": NOON,
        "reason": "why",
        "updatedBy": "saga",
    }


def test_every_other_transition_is_refused():
    for current in Status:
        for wanted in Status:
            if wanted not in NEXT[current]:
                with pytest.raises(IllegalTransition):
                    transition(current, wanted, at=NOON)


def test_a_confirmed_booking_never_returns_to_pending():
    with pytest.raises(IllegalTransition) as refused:
        transition(Status.CONFIRMED, Status.PENDING, at=NOON)
    assert refused.value.status == 409


def test_a_reason_is_written_even_when_none_is_given():
    assert transition(Status.PENDING, Status.CONFIRMED, at=NOON).reason
    assert created(at=NOON).status is Status.PENDING


def test_ending_a_reservation_that_booked_its_seats_releases_them():
    assert hold_after(Status.CANCELLED, SeatHold.HELD) is SeatHold.RELEASING
    assert hold_after(Status.REFUNDED, SeatHold.HELD) is SeatHold.RELEASING
    assert hold_after(Status.CANCELLED, SeatHold.REQUESTED) is SeatHold.RESOLVING
    assert hold_after(Status.CONFIRMED, SeatHold.HELD) is SeatHold.HELD
    assert hold_after(Status.CANCELLED, None) is None  # a saga's: the saga releases
    assert hold_after(Status.CANCELLED, SeatHold.REFUSED) is SeatHold.REFUSED


def test_totals_and_message_types():
    assert total_amount(3, Decimal("12.50"), "EUR") == Decimal("37.50")
    assert message_type(Status.PENDING) == "reservation.created"
    assert message_type(Status.REFUNDED) == "reservation.refunded"
