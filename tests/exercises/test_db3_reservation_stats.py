"""DB3: reservation statistics of an event by one MongoDB aggregation ($match + $group with
$sum/$cond): live reservations in the totals, cancelled and refunded apart, revenue from
confirmed reservations only; a reservation refused by the event service (it never held a
seat) is left out."""

from decimal import Decimal

import pytest

from tests.integration.reservation_service.harness import (
    create_event,
    reservation_body,
    reservation_fleet,
)


@pytest.fixture(scope="module")
async def fleet():
    async with reservation_fleet("db3") as (_, client, event_url):
        yield client, event_url


async def test_stats_on_a_known_data_set(fleet):
    client, event_url = fleet
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
    assert stats == {
        "eventId": event["id"],
        "totalReservations": 4,
        "totalSeats": 10,
        "confirmedSeats": 5,
        "pendingSeats": 5,
        "cancelledReservations": 1,
        "cancelledSeats": 5,
        "refundedReservations": 1,
        "refundedSeats": 6,
    }


async def test_an_event_without_reservations_has_zero_stats(fleet):
    client, _ = fleet
    answer = await client.get("/api/reservations/stats/424242")
    assert answer.status_code == 200
    assert answer.json()["totalReservations"] == 0 and Decimal(answer.json()["revenue"]) == 0
    assert (await client.get("/api/reservations/stats/abc")).status_code == 422
