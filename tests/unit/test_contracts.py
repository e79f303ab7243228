"""The message contracts and Money, without a broker: versions read, shapes refused."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from shared.contracts import (
    MESSAGES,
    SCHEMA_VERSION,
    BookingCompensated,
    Envelope,
    EventSeatsBooked,
    PaymentCompleted,
    ReservationCreated,
    RoutingKey,
    UnreadableMessage,
    new_envelope,
    read,
)
from shared.contracts.asyncapi import render
from shared.money import Amount, Money, display
from tests.messages import a_booking, a_payment, a_reservation, an_event


def test_every_routing_key_has_one_model_that_knows_its_key():
    assert set(MESSAGES) == set(RoutingKey)
    for key, model in MESSAGES.items():
        assert model.routing_key is key
        assert model.aggregate_type == key.aggregate.upper() or key.aggregate == "booking"


def test_money_is_a_decimal_written_as_a_string_in_its_currency_places():
    assert Money.of(15000, "XOF").model_dump(mode="json") == {"amount": "15000", "currency": "XOF"}
    assert Money.of("15000.00", "XOF").amount == Decimal(15000)
    assert Money.of(12.5, "EUR").model_dump(mode="json")["amount"] == "12.50"
    assert Money.of(0.1, "USD").amount == Decimal("0.10")  # through the float's text, not its binary
    assert str(Money.of(30000, "XOF")) == "30 000 XOF"
    assert display(Decimal("1234567.5"), "EUR") == "1 234 567.50 EUR"


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("15000.55", "XOF"), (15000.5, "XOF"), ("1.234", "EUR"), ("10", "XYZ"), ("10", "KWD"), (True, "EUR")],
)
def test_money_beyond_its_currency_minor_unit_or_of_unknown_currency_is_refused(amount, currency):
    with pytest.raises(ValidationError):
        Money.of(amount, currency)


def test_an_amount_reads_numbers_and_numeric_strings_and_writes_a_string():
    class Priced(BaseModel):
        price: Amount

    assert Priced(price=15000).price == Decimal(15000)
    assert Priced(price="15000.5").model_dump_json() == '{"price":"15000.5"}'
    for bad in ("abc", "NaN", "Infinity", None):
        with pytest.raises(ValidationError):
            Priced(price=bad)


@pytest.mark.parametrize(
    "message",
    [
        an_event(EventSeatsBooked, seats=2),
        a_reservation(ReservationCreated, amount=None),
        a_payment(PaymentCompleted, amount="99.90", currency="EUR"),
        a_booking(BookingCompensated, reason="declined"),
    ],
)
def test_a_message_travels_in_its_envelope_and_reads_back_equal(message):
    envelope = Envelope.from_bytes(message.envelope().to_bytes())
    assert envelope.schema_version == SCHEMA_VERSION
    assert envelope.type == message.routing_key
    assert envelope.aggregate_type == message.aggregate_type and envelope.aggregate_id == message.aggregate_id
    assert read(envelope) == message


def test_the_previous_version_is_read_money_as_bare_numbers():
    old = {
        "messageId": "m1",
        "type": "payment.completed",
        "aggregateType": "PAYMENT",
        "aggregateId": "5",
        "occurredAt": "2030-01-01T00:00:00Z",
        "data": {
            **a_payment(PaymentCompleted, amount=30000).model_dump(mode="json", exclude={"amount"}),
            "amount": 30000.0,
            "currency": "XOF",
        },
    }  # version 1 had no schemaVersion field
    envelope = Envelope.from_bytes(
        Envelope.model_validate(old).to_bytes().replace(b'"schemaVersion":2,', b"")
    )
    assert envelope.schema_version == 1
    payment = read(envelope)
    assert isinstance(payment, PaymentCompleted)
    assert payment.amount == Money.of(30000, "XOF")
    event = an_event().model_dump(mode="json")
    v1_event = Envelope(
        schema_version=1,
        type="event.updated",
        aggregate_type="EVENT",
        aggregate_id="7",
        data={**event, "ticketPrice": 15000.0},
    )
    assert read(v1_event).ticket_price == Money.of(15000, "XOF")  # type: ignore[attr-defined]


def test_an_unknown_version_a_foreign_key_or_invalid_data_is_unreadable():
    message = a_booking().envelope()
    future = message.model_copy(update={"schema_version": SCHEMA_VERSION + 1})
    with pytest.raises(UnreadableMessage, match="schemaVersion 3"):
        Envelope.from_bytes(future.to_bytes())
    with pytest.raises(UnreadableMessage, match="not JSON"):
        Envelope.from_bytes(b"{nope")
    with pytest.raises(UnreadableMessage, match="not in the contract"):
        read(new_envelope("booking.unheard_of", "SAGA", "s", {}))
    with pytest.raises(UnreadableMessage, match="amount"):
        read(
            new_envelope(
                "booking.confirmed",
                "SAGA",
                "s",
                {**message.data, "amount": {"amount": "1.5", "currency": "XOF"}},
            )
        )


def test_the_checked_in_asyncapi_document_is_what_the_models_generate():
    checked_in = (Path(__file__).parents[2] / "docs" / "asyncapi.json").read_text(encoding="utf-8")
    assert checked_in == render(), "docs/asyncapi.json is stale: run python -m shared.contracts asyncapi"
    assert render() == render()  # deterministic


def test_the_asyncapi_document_has_a_channel_and_a_send_operation_per_routing_key():
    doc = json.loads(render())
    assert doc["asyncapi"] == "3.0.0"
    assert sorted(c["address"] for c in doc["channels"].values()) == sorted(k.value for k in RoutingKey)
    assert {o["action"] for o in doc["operations"].values()} == {"send"}
    assert len(doc["operations"]) == len(RoutingKey)
    money = doc["components"]["schemas"]["Money"]
    assert money["properties"]["amount"]["type"] == "string"
