"""Money: an amount with its currency, held as a Decimal, checked against the currency's
ISO 4217 minor unit, and written in JSON as a decimal string (never a binary float).

Inputs accept a JSON number or a numeric string (the handout's clients send 15000); a number
is read through its shortest text form, so 0.1 stays 0.1. An amount with more decimals than
its currency has (15000.55 XOF: the franc CFA has no minor unit, as payment providers treat
it) is refused; an accepted one is scaled to the currency's places, so 15000 XOF is written
"15000" and 12.5 EUR "12.50".
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

# ISO 4217 minor units of the currencies the platform takes. Amounts are stored with two
# decimal places, so the currencies with three (KWD, BHD, JOD, OMR, TND, LYD, IQD) are not
# among them: their amounts could not be kept exactly.
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        ("XOF XAF XPF JPY KRW BIF CLP DJF GNF ISK KMF PYG RWF UGX VND VUV").split(),
        0,
    ),
    **dict.fromkeys(
        (
            "EUR USD GBP CHF CAD AUD NZD SEK NOK DKK PLN CZK HUF RON BGN CNY HKD SGD INR "
            "BRL MXN ZAR NGN GHS KES TZS ETB MAD DZD EGP MUR MGA CDF GMD SLE LRD CVE STN "
            "AOA MZN ZMW BWP NAD SZL LSL MWK SCR ERN SDG SSP SOS TRY AED SAR QAR ILS THB "
            "MYR IDR PHP PKR BDT LKR"
        ).split(),
        2,
    ),
}

# The currency events are priced in: the platform sells in francs CFA (an event has no
# currency field of its own).
PRICING_CURRENCY = "XOF"

# Largest amount the databases hold: NUMERIC(14, 2).
MAX_DIGITS = 14
DECIMAL_TEXT = r"^-?[0-9]+(\.[0-9]+)?$"


def minor_unit(currency: str) -> int:
    """Decimal places of `currency`; ValueError when the platform does not take it."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise ValueError(f"unsupported currency {currency!r} (ISO 4217 code, upper case)") from None


def in_currency(amount: Decimal, currency: str) -> Decimal:
    """`amount` scaled to `currency`'s minor unit; ValueError when that would drop digits."""
    places = minor_unit(currency)
    exponent = Decimal(1).scaleb(-places)
    scaled = amount.quantize(exponent)
    if scaled != amount:
        unit = "no decimals" if places == 0 else f"at most {places} decimals"
        raise ValueError(f"{currency} amounts have {unit} (ISO 4217 minor unit): {amount} is refused")
    return scaled


def decimal_text(amount: Decimal) -> str:
    """Fixed-point text, never an exponent: Decimal("3E+4") is "30000"."""
    return format(amount, "f")


def display(amount: Decimal, currency: str) -> str:
    """For people: digits grouped by three, the currency's places: "30 000 XOF", "12.50 EUR"."""
    places = MINOR_UNITS.get(currency, 2)
    return f"{amount:,.{places}f}".replace(",", " ") + f" {currency}"


# A Decimal amount on its own; its currency is a sibling field (REST) or Money's (messages).
Amount = Annotated[
    Decimal,
    # A JSON number (read through its shortest text: 0.1 stays 0.1) or a numeric string;
    # never a boolean, NaN or an infinity.
    Field(max_digits=MAX_DIGITS, decimal_places=2, allow_inf_nan=False),
    PlainSerializer(decimal_text, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "pattern": DECIMAL_TEXT, "description": 'decimal amount, e.g. "15000"'},
        mode="serialization",
    ),
]


def _known(currency: str) -> str:
    minor_unit(currency)
    return currency


Currency = Annotated[
    str,
    Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, upper case"),
    AfterValidator(_known),
]


def priced_in(currency_field: str) -> AfterValidator:
    """Checks an Amount field against the currency in `currency_field`, which must be declared
    before it (pydantic validates fields in order). A missing or invalid currency has its own
    error, so the amount is then left as it is."""

    def check(amount: Decimal, info: ValidationInfo) -> Decimal:
        currency = info.data.get(currency_field)
        return amount if currency is None else in_currency(amount, currency)

    return AfterValidator(check)


def priced_in_fixed(currency: str) -> AfterValidator:
    """Checks an Amount field against a currency the schema fixes (event prices: XOF)."""
    check: Callable[[Decimal], Decimal] = lambda amount: in_currency(amount, currency)  # noqa: E731
    return AfterValidator(check)


# Events are priced in PRICING_CURRENCY, which has no minor unit: 15000.55 is refused. The check
# stands after a field's bounds, so an out-of-range price is reported as such.
EVENT_PRICE_CHECK = priced_in_fixed(PRICING_CURRENCY)
# An event's price, or another amount in its currency (a revenue), as the services answer it.
EventMoney = Annotated[Amount, EVENT_PRICE_CHECK]
# An event's price as a client sends it: never negative.
EventPriceIn = Annotated[Amount, Field(ge=0), EVENT_PRICE_CHECK]


class Money(BaseModel):
    """An amount with its currency, as messages carry it: {"amount": "30000", "currency": "XOF"}."""

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_serialization_defaults_required=True)

    amount: Amount
    currency: Currency

    @model_validator(mode="after")
    def _minor_unit(self) -> Self:
        scaled = in_currency(self.amount, self.currency)
        if scaled.as_tuple() != self.amount.as_tuple():
            object.__setattr__(self, "amount", scaled)
        return self

    @classmethod
    def of(cls, amount: Any, currency: str) -> "Money":
        return cls(amount=amount, currency=currency)

    def total(self, seats: int) -> "Money":
        """The price of `seats` tickets at this unit price: the one booking total of the
        platform (the saga charges it, the reservation records it).

        No rounding mode is chosen because none is needed: a Money holds at most its
        currency's minor unit, so a whole number of tickets costs an exact amount in that unit
        (two rounding modes that never apply are how two totals once drifted apart)."""
        if isinstance(seats, bool) or not isinstance(seats, int) or seats < 0:
            raise ValueError(f"a total is for a whole, non-negative number of seats, not {seats!r}")
        return Money(amount=in_currency(self.amount * seats, self.currency), currency=self.currency)

    @property
    def text(self) -> str:
        """The amount as JSON carries it: "30000", "12.50"."""
        return decimal_text(self.amount)

    def __str__(self) -> str:
        return display(self.amount, self.currency)
