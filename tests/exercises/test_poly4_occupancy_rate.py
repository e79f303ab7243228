"""POLY4: occupancy rate = booked / capacity x 100, two decimals half up, 0 without capacity,
never negative, never above 100."""

from decimal import Decimal

import pytest

from analytics_service.domain import occupancy_rate, with_occupancy


@pytest.mark.parametrize(
    ("booked", "capacity", "rate"),
    [
        (0, 100, "0.00"),
        (45, 100, "45.00"),
        (1, 3, "33.33"),
        (2, 3, "66.67"),  # 66.666... rounds up
        (1, 8, "12.50"),
        (1, 16, "6.25"),
        (1, 32, "3.13"),  # 3.125 half up, where float rounding would give 3.12
        (1, 200, "0.50"),
        (1, 3000, "0.03"),
        (100, 100, "100.00"),
    ],
)
def test_rate_has_two_decimals_rounded_half_up(booked, capacity, rate):
    assert occupancy_rate(booked, capacity) == Decimal(rate)
    assert occupancy_rate(booked, capacity).as_tuple().exponent == -2


@pytest.mark.parametrize("capacity", [0, -5])
def test_no_capacity_means_zero_not_a_division_error(capacity):
    assert occupancy_rate(10, capacity) == Decimal("0.00")


def test_a_rate_is_never_negative():
    assert occupancy_rate(-3, 100) == Decimal("0.00")


def test_a_rate_is_capped_at_100_when_counters_disagree():
    assert occupancy_rate(120, 100) == Decimal("100.00")


def test_the_document_derives_available_seats_and_its_occupancy_rate():
    # Level 2's half of POLY4: the search document carries both, derived from its counters.
    derived = with_occupancy({"totalCapacity": 3, "bookedSeats": 2})
    assert (derived["availableSeats"], derived["occupancyRate"]) == (1, 66.67)
    # availableSeats given by the message is kept; derived, it is never below zero.
    assert with_occupancy({"totalCapacity": 10, "bookedSeats": 4, "availableSeats": 5})["availableSeats"] == 5
    over = with_occupancy({"totalCapacity": 2, "bookedSeats": 3})
    assert (over["availableSeats"], over["occupancyRate"]) == (0, 100.0)
    assert with_occupancy({})["occupancyRate"] == 0.0
