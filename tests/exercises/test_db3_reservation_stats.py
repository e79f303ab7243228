"""DB3: reservation statistics of an event by one MongoDB aggregation ($match + $group with
$sum/$cond): live reservations in the totals, cancelled and refunded apart, revenue from
confirmed reservations only; a reservation refused by the event service (it never held a
seat) is left out.

The first test stores its reservations as they are, so it needs no other exercise; the second
makes them through the service (seats booked at the event service, status changes with DB4's
timeline)."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from bson import ObjectId

from tests.integration.reservation_service.harness import (
    create_event,
    reservation_body,
    reservation_fleet,
)
from tests.support import unique

EXPECTED = {
    "totalReservations": 4,
    "totalSeats": 10,
    "confirmedSeats": 5,
    "pendingSeats": 5,
    "cancelledReservations": 1,
    "cancelledSeats": 5,
    "refundedReservations": 1,
    "refundedSeats": 6,
}


@pytest.fixture(scope="module")
async def fleet():
    async with reservation_fleet("db3") as (app, client, event_url):
        yield app, client, event_url


def stored(event_id: int, seats: int, status: str, **fields: Any) -> dict[str, Any]:
    """A reservation as the service stores it, at 15 a seat."""
    at = datetime.now(UTC)
    return {
        "id": str(ObjectId()),
        "eventId": event_id,
        "userId": unique("user"),
        "userDetails": {"name": "Awa Diop", "email": "awa@example.com"},
        "bookingDetails": {"seats": seats, "totalAmount": Decimal(15) * seats, "currency": "XOF"},
        "status": status,
        "metadata": {},
        "version": 1,
        "createdAt": at,
        "updatedAt": at,
        "timeline": [{"status": status, "timestamp": at, "reason": "test data", "updatedBy": "test"}],
        **fields,
    }


async def test_stats_over_stored_reservations(fleet):
    app, client, _ = fleet
    event_id, other_id = 900_001, 900_002  # beyond the ids the event service gives in this module
    data = [
        stored(event_id, 2, "confirmed"),
        stored(event_id, 3, "confirmed", seatHold="held"),
        stored(event_id, 1, "pending"),
        stored(event_id, 4, "pending", seatHold="held"),
        stored(event_id, 5, "cancelled"),
        stored(event_id, 6, "refunded"),
        # refused by the event service: it never held a seat
        stored(event_id, 1000, "cancelled", seatHold="refused"),
        stored(other_id, 7, "confirmed"),
    ]
    for doc in data:
        assert await app.state.store.insert(doc, None) is not None

    answer = await client.get(f"/api/reservations/stats/{event_id}")
    assert answer.status_code == 200
    stats = answer.json()
    assert Decimal(stats.pop("revenue")) == 75  # (2 + 3) x 15, confirmed only
    assert stats == {"eventId": event_id, **EXPECTED}


async def test_stats_on_a_known_data_set(fleet):
    _, client, event_url = fleet
    event = await create_event(event_url, price="15.00")
    plan = [
        (2, "confirmed"),
        (3, "confirmed"),
        (1, "pending"),
        (4, "pending"),
        (5, "cancelled"),
        (6, "refunded"),
    ]
    for seats, status in plan:
        r = (await client.post("/api/reservations", json=reservation_body(event["id"], seats=seats))).json()
        if status in ("confirmed", "refunded"):
            await client.put(f"/api/reservations/{r['id']}/status", json={"status": "confirmed"})
        if status == "refunded":
            await client.put(f"/api/reservations/{r['id']}/status", json={"status": "refunded"})
        if status == "cancelled":
            await client.post(f"/api/reservations/{r['id']}/cancel")
    refused = await client.post("/api/reservations", json=reservation_body(event["id"], seats=1000))
    assert refused.status_code == 409  # never held a seat: not part of the statistics
    other = await create_event(event_url)
    await client.post("/api/reservations", json=reservation_body(other["id"], seats=7))

    answer = await client.get(f"/api/reservations/stats/{event['id']}")
    assert answer.status_code == 200
    stats = answer.json()
    assert Decimal(stats.pop("revenue")) == 75  # (2 + 3) x 15, confirmed only
    assert stats == {"eventId": event["id"], **EXPECTED}


async def test_an_event_without_reservations_has_zero_stats(fleet):
    _, client, _ = fleet
    answer = await client.get("/api/reservations/stats/424242")
    assert answer.status_code == 200
    assert answer.json()["totalReservations"] == 0 and Decimal(answer.json()["revenue"]) == 0
    assert (await client.get("/api/reservations/stats/abc")).status_code == 422
