"""One booking total for the platform: Money.total, which the saga charges and the reservation
records. The two once rounded differently (half-up, half-even); these tests pin that there is
one function, that it is exact, and that both services answer the same figure through it."""

from decimal import Decimal

import pytest

from reservation_service.domain import total_amount
from saga_orchestrator.domain import booking_amount
from shared.money import Money


@pytest.mark.parametrize(
    ("price", "currency", "seats", "expected"),
    [
        ("15000", "XOF", 3, "45000"),
        ("12.50", "EUR", 3, "37.50"),
        ("0.05", "EUR", 5, "0.25"),  # where half-up and half-even would part if a rounding applied
        ("0.01", "USD", 1, "0.01"),
        ("2500", "XOF", 0, "0"),
    ],
)
def test_a_total_is_the_exact_price_of_the_seats_in_the_currencys_minor_unit(
    price: str, currency: str, seats: int, expected: str
) -> None:
    total = Money.of(price, currency).total(seats)
    assert total == Money.of(expected, currency)
    assert total.text == expected  # scaled to the currency's places, never more


@pytest.mark.parametrize(
    ("price", "currency", "seats"),
    [("15000", "XOF", 7), ("12.35", "EUR", 3), ("0.05", "EUR", 9), ("999.99", "USD", 11)],
)
def test_the_saga_charges_what_the_reservation_records(price: str, currency: str, seats: int) -> None:
    charged = booking_amount(seats, Decimal(price), currency)
    recorded = total_amount(seats, Decimal(price), currency)
    assert charged == recorded == Decimal(price) * seats


@pytest.mark.parametrize("seats", [-1, 1.5, True, "2"])
def test_a_total_is_for_a_whole_non_negative_number_of_seats(seats: object) -> None:
    with pytest.raises(ValueError, match="whole, non-negative"):
        Money.of("100", "XOF").total(seats)  # type: ignore[arg-type]


def test_a_price_the_currency_cannot_hold_has_no_total() -> None:
    # A price finer than the currency's minor unit is refused before any total is taken, so no
    # total ever needs rounding.
    with pytest.raises(ValueError, match="no decimals"):
        booking_amount(2, Decimal("15000.5"), "XOF")
