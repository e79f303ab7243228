"""Every message a real booking, its cancellation and a declined booking put on the fleet's
exchange fits its contract: a throwaway queue bound to "#" captures them all, and each is
read by the model of its routing key (which writes it back the same) and validated against
the JSON Schema of the checked-in AsyncAPI document. The consumers (analytics,
notifications, event store) read the same messages: none of them reaches a dead-letter
queue."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import jsonschema_rs
import pytest

from analytics_service.messaging import CONSUMER_NAME as PROJECTION
from event_store_service.messaging import RECORDER
from notification_service.messaging import QUEUE as DISPATCH
from shared.contracts import Envelope, RoutingKey, read
from tests.support import AMQP_URL, IsolatedFleet, eventually

ASYNCAPI = Path(__file__).parents[2] / "docs" / "asyncapi.json"
TERMINAL = {"COMPLETED", "COMPENSATED", "COMPENSATION_FAILED"}
USER = "user-contracts"

# The messages each flow must publish, at least.
BOOKED = {
    RoutingKey.EVENT_CREATED,
    RoutingKey.EVENT_SEATS_BOOKED,
    RoutingKey.RESERVATION_CREATED,
    RoutingKey.RESERVATION_CONFIRMED,
    RoutingKey.PAYMENT_COMPLETED,
    RoutingKey.BOOKING_CONFIRMED,
}
CANCELLED = {
    RoutingKey.RESERVATION_CANCELLED,
    RoutingKey.PAYMENT_REFUNDED,
    RoutingKey.EVENT_SEATS_RELEASED,
    RoutingKey.BOOKING_CANCELLED,
}
DECLINED = {
    RoutingKey.EVENT_CREATED,
    RoutingKey.EVENT_SEATS_BOOKED,
    RoutingKey.RESERVATION_CREATED,
    RoutingKey.PAYMENT_FAILED,
    RoutingKey.RESERVATION_CANCELLED,
    RoutingKey.EVENT_SEATS_RELEASED,
    RoutingKey.BOOKING_COMPENSATED,
}


@pytest.fixture(scope="module")
def fleet(default_fleet: IsolatedFleet) -> IsolatedFleet:
    return default_fleet  # every service runs: each one's consumer reads the messages too


def _schemas() -> dict[str, Callable[[dict[str, Any]], list[str]]]:
    """Routing key -> the validator of its envelope's JSON Schema, from the AsyncAPI document."""
    doc = json.loads(ASYNCAPI.read_text(encoding="utf-8"))
    validators: dict[str, Callable[[dict[str, Any]], list[str]]] = {}
    for message in doc["components"]["messages"].values():
        schema = {"$ref": message["payload"]["$ref"], "components": doc["components"]}
        validator = jsonschema_rs.validator_for(schema)
        validators[message["name"]] = lambda body, v=validator: [e.message for e in v.iter_errors(body)]
    return validators


async def _ended(client: httpx.AsyncClient, fleet, saga_id: str) -> dict[str, Any]:
    url = f"{fleet.url('saga_orchestrator')}/api/saga/{saga_id}"

    async def ended() -> dict[str, Any] | None:
        saga: dict[str, Any] = (await client.get(url)).json()
        return saga if saga["status"] in TERMINAL else None

    return await eventually(ended, timeout=90)


async def _book(client: httpx.AsyncClient, fleet, *, price: int, seats: int) -> dict[str, Any]:
    event = await client.post(
        f"{fleet.url('event_service')}/api/events",
        json={
            "name": "Contract check",
            "eventDate": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            "location": "Dakar",
            "totalCapacity": 20,
            "ticketPrice": price,
        },
    )
    assert event.status_code == 201, event.text
    started = await client.post(
        f"{fleet.url('saga_orchestrator')}/api/saga/booking",
        json={
            "eventId": event.json()["id"],
            "userId": USER,
            "userName": "Aminata Sow",
            "userEmail": "aminata@example.com",
            "seats": seats,
            "ticketPrice": event.json()["ticketPrice"],
            "paymentMethod": "card",
        },
    )
    assert started.status_code == 202, started.text
    return await _ended(client, fleet, started.json()["sagaId"])


async def _cancel(client: httpx.AsyncClient, fleet, booking: dict[str, Any]) -> dict[str, Any]:
    url = f"{fleet.url('reservation_service')}/api/reservations/{booking['reservationId']}/cancel"
    answer = await client.post(url, json={"reason": "cannot come"})
    assert answer.status_code == 202, answer.text
    return await _ended(client, fleet, answer.json()["sagaId"])


async def test_every_message_of_a_booking_its_cancellation_and_a_declined_one_fits_its_contract(fleet):
    validators = _schemas()
    captured: list[aio_pika.abc.AbstractIncomingMessage] = []
    connection = await aio_pika.connect_robust(AMQP_URL)
    async with connection, httpx.AsyncClient(timeout=15) as client:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            fleet.env["AMQP_EXCHANGE"], aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="#")

        booked = await _book(client, fleet, price=5000, seats=2)
        flows = [
            (booked, "COMPLETED", BOOKED),
            (await _cancel(client, fleet, booked), "COMPLETED", CANCELLED),
            (await _book(client, fleet, price=600_000, seats=2), "COMPENSATED", DECLINED),  # declined
        ]
        assert [saga["status"] for saga, _, _ in flows] == [status for _, status, _ in flows]
        wanted = {str(key) for _, _, keys in flows for key in keys}

        async def all_captured() -> bool | None:
            while (message := await queue.get(fail=False)) is not None:
                await message.ack()
                captured.append(message)
            return wanted <= {str(m.routing_key) for m in captured} or None

        await eventually(all_captured, timeout=60)

        for message in captured:
            envelope = Envelope.from_bytes(message.body)
            assert envelope.type == message.routing_key
            contract = read(envelope)  # read by the model of its routing key...
            assert contract.model_dump(mode="json") == envelope.data  # ...which writes it back the same
            errors = validators[envelope.type](json.loads(message.body))  # and the AsyncAPI schema
            assert errors == [], (envelope.type, errors)

        # The consumers read the same messages: once the event store has recorded every one
        # and the other two show the flows, no dead-letter queue holds anything.
        await _consumed(client, fleet, captured, booked)
        for name in (RECORDER, PROJECTION, DISPATCH):
            dlq = await channel.declare_queue(f"{fleet.env['AMQP_QUEUE_PREFIX']}{name}.dlq", passive=True)
            assert dlq.declaration_result.message_count == 0, name


async def _consumed(
    client: httpx.AsyncClient,
    fleet,
    captured: list[aio_pika.abc.AbstractIncomingMessage],
    booked: dict[str, Any],
) -> None:
    per_stream: dict[str, int] = {}
    for message in captured:
        body = json.loads(message.body)
        stream = f"{body['aggregateType']}-{body['aggregateId']}"
        per_stream[stream] = per_stream.get(stream, 0) + 1
    store = fleet.url("event_store_service")

    async def recorded() -> bool | None:
        for stream, count in per_stream.items():
            answer = await client.get(f"{store}/api/aggregates/{stream}/history")
            if answer.status_code != 200 or answer.json()["count"] < count:
                return None
        return True

    async def notified() -> bool | None:
        url = f"{fleet.url('notification_service')}/api/notifications/user/{USER}"
        kinds = {n["type"] for n in (await client.get(url)).json()["items"]}
        return {"booking.confirmed", "booking.cancelled", "booking.compensated"} <= kinds or None

    async def projected() -> bool | None:
        # The booked then cancelled event, at its last version: no confirmed reservation left.
        event_id = booked["eventId"]
        event = (await client.get(f"{fleet.url('event_service')}/api/events/{event_id}")).json()
        answer = await client.get(f"{fleet.url('analytics_service')}/api/analytics/events/{event_id}")
        doc = answer.json() if answer.status_code == 200 else {}
        return (doc.get("eventVersion") == event["version"] and doc.get("confirmedReservations") == 0) or None

    for probe in (recorded, notified, projected):
        await eventually(probe, timeout=60)
