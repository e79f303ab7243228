"""The recorder consumer: domain messages published on RabbitMQ become events, once each,
in order per aggregate."""

import pytest

from shared.contracts import (
    BookingConfirmed,
    Envelope,
    EventSeatsBooked,
    PaymentCompleted,
    PaymentRefunded,
    ReservationConfirmed,
    ReservationCreated,
    ReservationMessage,
)
from shared.messaging.broker import Broker
from tests.integration.event_store_service.helpers import event_store, store_settings
from tests.messages import a_booking, a_payment, a_reservation, an_event
from tests.support import eventually, unique


@pytest.fixture(scope="module")
async def store():
    settings = store_settings()
    async with event_store(settings) as (app, client):
        await app.state.broker.wait_connected()
        publisher = Broker(settings)
        await publisher.start()
        await publisher.wait_connected()
        try:
            yield client, publisher
        finally:
            await publisher.close()


async def history_of(client, aggregate_id: str, count: int) -> dict | None:
    answer = await client.get(f"/api/aggregates/{aggregate_id}/history")
    if answer.status_code == 200 and answer.json()["count"] >= count:
        return answer.json()
    return None


def reservation(kind: type[ReservationMessage], reservation_id: str, version: int) -> ReservationMessage:
    return a_reservation(kind, reservation_id, 7, version=version, seats=2, amount=30000)


def unique_number() -> int:
    """A numeric id (payments and events have integer ids) no other run uses."""
    return int(unique().rsplit("_", 1)[-1], 16)


async def test_a_reservation_stream_reconstructs_at_each_version(store: tuple) -> None:
    client, publisher = store
    rid = unique("r")
    created = reservation(ReservationCreated, rid, 1).envelope()
    confirmed = Envelope(
        type="reservation.confirmed",
        aggregate_type="RESERVATION",
        aggregate_id=rid,
        correlation_id=created.correlation_id,
        causation_id=created.message_id,
        data=reservation(ReservationConfirmed, rid, 2).model_dump(mode="json"),
    )
    await publisher.publish(created)
    await publisher.publish(confirmed)

    history = await eventually(lambda: history_of(client, f"RESERVATION-{rid}", 2))
    assert [e["eventType"] for e in history["events"]] == ["reservation.created", "reservation.confirmed"]
    assert [e["version"] for e in history["events"]] == [1, 2]
    first = history["events"][0]
    assert first["eventId"] == created.message_id
    assert first["aggregateType"] == "RESERVATION"
    assert first["metadata"] == {
        "correlationId": created.correlation_id,
        "causationId": None,
        "messageId": created.message_id,
        "occurredAt": created.occurred_at.isoformat(),
        "source": "rabbitmq",
    }
    assert history["events"][1]["metadata"]["causationId"] == created.message_id

    url = f"/api/aggregates/RESERVATION-{rid}/reconstruct"
    at_one = (await client.get(url, params={"toVersion": 1})).json()
    at_two = (await client.get(url, params={"toVersion": 2})).json()
    assert at_one["state"]["status"] == "pending"
    assert at_two["state"]["status"] == "confirmed"
    assert at_two["state"]["bookingDetails"]["seats"] == 2


async def test_a_redelivered_message_is_recorded_once(store: tuple) -> None:
    client, publisher = store
    pid = unique_number()
    completed = a_payment(PaymentCompleted, pid).envelope()
    refunded = a_payment(PaymentRefunded, pid).envelope()
    await publisher.publish(completed)
    await publisher.publish(completed)  # the broker delivers the same message again
    # One aggregate's messages are handled in order: once the refund is there, the duplicate
    # before it has been handled too.
    await publisher.publish(refunded)

    history = await eventually(lambda: history_of(client, f"PAYMENT-{pid}", 2))
    assert [(e["version"], e["eventId"]) for e in history["events"]] == [
        (1, completed.message_id),
        (2, refunded.message_id),
    ]
    state = (await client.get(f"/api/aggregates/PAYMENT-{pid}/reconstruct")).json()["state"]
    assert state["status"] == "refunded"


async def test_every_aggregate_type_gets_its_own_stream(store: tuple) -> None:
    client, publisher = store
    sid, eid = unique("s"), unique_number()
    await publisher.publish(a_booking(BookingConfirmed, sid, seats=2).envelope())
    await publisher.publish(an_event(EventSeatsBooked, eid, 2, booked_seats=2, seats=2).envelope())
    saga = await eventually(lambda: history_of(client, f"SAGA-{sid}", 1))
    event = await eventually(lambda: history_of(client, f"EVENT-{eid}", 1))
    assert saga["aggregateType"] == "SAGA"
    assert event["events"][0]["eventType"] == "event.seats_booked"
    state = (await client.get(f"/api/aggregates/SAGA-{sid}/reconstruct")).json()["state"]
    assert state["status"] == "COMPLETED"
