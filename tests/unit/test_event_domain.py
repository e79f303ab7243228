"""Seat rules of the event service (DB1), without a database."""

import math
from datetime import UTC, datetime

import pytest

from event_service.domain import (
    CapacityBelowBooked,
    EventHasBookings,
    EventInThePast,
    InvalidSeats,
    SeatsNotBooked,
    SeatsUnavailable,
    book,
    bookable_seats,
    check_capacity,
    check_deletable,
    check_new_event_date,
    parse_seats,
    release,
    safety_margin,
)

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("capacity", "margin"),
    [(1, 1), (19, 1), (20, 1), (21, 2), (40, 2), (41, 3), (100, 5), (101, 6), (1000, 50)],
)
def test_the_margin_is_five_percent_rounded_up(capacity, margin):
    assert safety_margin(capacity) == margin


def test_the_margin_agrees_with_ceil_for_every_capacity():
    for capacity in range(1, 5000):
        assert safety_margin(capacity) == math.ceil(capacity * 5 / 100 - 1e-9)


def test_bookable_seats_keep_the_margin_free_and_never_go_negative():
    assert bookable_seats(100, 0) == 95
    assert bookable_seats(100, 95) == 0
    assert bookable_seats(100, 100) == 0
    assert bookable_seats(1, 0) == 0  # a one-seat event can never be booked
    assert bookable_seats(20, 0) == 19


def test_booking_up_to_the_margin_succeeds_and_one_more_fails():
    assert book(100, 90, 5) == 95
    with pytest.raises(SeatsUnavailable) as refused:
        book(100, 95, 1)
    assert refused.value.status == 409
    assert refused.value.detail == "Could not book seats. Not enough availability."
    assert refused.value.extra["success"] is False


def test_seats_must_be_positive():
    with pytest.raises(InvalidSeats):
        book(100, 0, 0)
    with pytest.raises(InvalidSeats):
        release(5, -1)


@pytest.mark.parametrize("bad", [0, -3, 1.5, "2", None, True, [], {}, 10**12])
def test_parse_seats_refuses_what_is_not_a_positive_integer(bad):
    with pytest.raises(InvalidSeats) as refused:
        parse_seats(bad)
    assert refused.value.status == 400
    assert refused.value.detail == "Invalid number of seats"
    assert refused.value.errors is not None
    assert refused.value.errors[0]["field"] == "seats"


def test_parse_seats_takes_integers_and_whole_floats():
    assert parse_seats(3) == 3
    assert parse_seats(3.0) == 3


def test_release_never_goes_below_zero():
    assert release(5, 5) == 0
    with pytest.raises(SeatsNotBooked):
        release(2, 3)


def test_a_new_date_must_be_in_the_future():
    check_new_event_date(datetime(2030, 1, 2, tzinfo=UTC), NOW)
    with pytest.raises(EventInThePast):
        check_new_event_date(NOW, NOW)


def test_capacity_and_delete_guards():
    check_capacity(10, 10)
    with pytest.raises(CapacityBelowBooked):
        check_capacity(9, 10)
    check_deletable(1, 0)
    with pytest.raises(EventHasBookings):
        check_deletable(1, 1)


def test_the_event_date_bounds_booking_but_not_release():
    from datetime import timedelta

    from event_service.domain import EventStarted, check_bookable

    check_bookable(1, NOW + timedelta(seconds=1), NOW)
    with pytest.raises(EventStarted) as refused:
        check_bookable(1, NOW, NOW)
    assert refused.value.status == 409
    assert [e["field"] for e in refused.value.errors] == ["eventDate"]
    assert release(4, 4) == 0  # a release has no date: a saga compensates after the date too


def test_a_started_event_with_bookings_keeps_its_date():
    from datetime import timedelta

    from event_service.domain import EventStarted, check_date_change

    started, later = NOW - timedelta(hours=1), NOW + timedelta(days=1)
    with pytest.raises(EventStarted):
        check_date_change(1, started, later, 2, NOW)
    check_date_change(1, started, later, 0, NOW)  # nobody holds a seat: it may be moved
    check_date_change(1, later, later + timedelta(days=1), 2, NOW)  # not started: may move
    with pytest.raises(EventInThePast):
        check_date_change(1, later, NOW - timedelta(seconds=1), 2, NOW)
