"""The projection consumer against real RabbitMQ and OpenSearch: versions guard every write,
so duplicates and out-of-order deliveries never change the outcome (POLY5)."""

import asyncio
import re
from decimal import Decimal

from shared.contracts import BookingConfirmed
from tests.integration.analytics_service.messages import (
    event_data,
    event_message,
    project,
    reservation_message,
)
from tests.messages import a_booking
from tests.support import eventually, unique

EVENT_ID = 41


def _projected(metrics_text: str, kind: str, outcome: str) -> float:
    pattern = rf'analytics_projection_total\{{outcome="{outcome}",type="{re.escape(kind)}"\}} (\S+)'
    found = re.search(pattern, metrics_text)
    return float(found.group(1)) if found else 0.0


async def _document(app, client, event_id):
    """The document once the index has refreshed: the projection writes without waiting for
    a refresh (it comes every 250 ms), so an assertion first makes it happen."""
    await app.state.store.refresh()
    answer = await client.get(f"/api/analytics/events/{event_id}")
    return answer.json() if answer.status_code == 200 else None


async def test_an_older_version_delivered_after_a_newer_one_is_ignored(analytics, publisher):
    _, app, client = analytics
    await publisher.publish(event_message("updated", event_data(EVENT_ID, 3, bookedSeats=30)))
    await publisher.publish(event_message("updated", event_data(EVENT_ID, 2, bookedSeats=10)))

    async def stale_seen():
        text = (await client.get("/metrics")).text
        return _projected(text, "event.updated", "stale") >= 1

    await eventually(stale_seen, timeout=20)
    doc = await _document(app, client, EVENT_ID)
    assert doc["eventVersion"] == 3
    assert doc["bookedSeats"] == 30
    assert doc["occupancyRate"] == 30.0


async def test_a_message_delivered_twice_is_applied_once(analytics, publisher):
    _, app, client = analytics
    await publisher.publish(event_message("created", event_data(EVENT_ID, 1)))
    confirmed = reservation_message("confirmed", unique("r"), EVENT_ID, version=2, seats=2, amount=30000)
    await publisher.publish(confirmed)
    await publisher.publish(confirmed)

    async def both_handled():
        text = (await client.get("/metrics")).text
        handled = [_projected(text, "reservation.confirmed", o) for o in ("applied", "stale")]
        return handled if sum(handled) >= 2 else None

    assert await eventually(both_handled, timeout=20) == [1.0, 1.0]
    doc = await _document(app, client, EVENT_ID)
    assert doc["confirmedReservations"] == 1
    assert Decimal(doc["revenue"]) == 30000


async def test_a_deleted_event_is_not_resurrected_by_a_late_update(analytics):
    _, app, client = analytics
    projection = app.state.projection
    await project(projection, event_message("created", event_data(EVENT_ID, 1)))
    await project(projection, event_message("deleted", event_data(EVENT_ID, 2)))
    assert await _document(app, client, EVENT_ID) is None

    await project(projection, event_message("updated", event_data(EVENT_ID, 2, name="Late")))
    await project(projection, event_message("created", event_data(EVENT_ID, 1)))
    assert await _document(app, client, EVENT_ID) is None
    listed = (await client.get("/api/analytics/search")).json()
    assert listed["total"] == 0


async def test_a_delete_at_the_same_version_still_deletes(analytics):
    _, app, client = analytics
    await project(app.state.projection, event_message("updated", event_data(EVENT_ID, 4)))
    await project(app.state.projection, event_message("deleted", event_data(EVENT_ID, 4)))
    assert await _document(app, client, EVENT_ID) is None


async def test_seat_messages_carry_the_event_and_update_occupancy(analytics):
    _, app, client = analytics
    projection = app.state.projection
    await project(projection, event_message("created", event_data(EVENT_ID, 1, totalCapacity=3)))
    await project(
        projection, event_message("seats_booked", event_data(EVENT_ID, 2, totalCapacity=3, bookedSeats=2), 2)
    )
    doc = await _document(app, client, EVENT_ID)
    assert (doc["bookedSeats"], doc["availableSeats"], doc["occupancyRate"]) == (2, 1, 66.67)
    await project(
        projection,
        event_message("seats_released", event_data(EVENT_ID, 3, totalCapacity=3, bookedSeats=1), 1),
    )
    doc = await _document(app, client, EVENT_ID)
    assert (doc["bookedSeats"], doc["occupancyRate"]) == (1, 33.33)


async def test_a_cancellation_of_a_confirmed_reservation_takes_its_money_back(analytics):
    _, app, client = analytics
    projection = app.state.projection
    await project(projection, event_message("created", event_data(EVENT_ID, 1)))
    kept, cancelled = unique("r"), unique("r")
    await project(
        projection, reservation_message("confirmed", kept, EVENT_ID, version=2, seats=1, amount=15000)
    )
    await project(
        projection, reservation_message("confirmed", cancelled, EVENT_ID, version=2, seats=3, amount=45000)
    )
    assert Decimal((await _document(app, client, EVENT_ID))["revenue"]) == 60000
    await project(
        projection, reservation_message("cancelled", cancelled, EVENT_ID, version=3, seats=3, amount=45000)
    )
    doc = await _document(app, client, EVENT_ID)
    assert (doc["confirmedReservations"], Decimal(doc["revenue"])) == (1, 15000)


async def test_a_cancellation_arriving_before_its_confirmation_wins(analytics):
    _, app, client = analytics
    projection = app.state.projection
    await project(projection, event_message("created", event_data(EVENT_ID, 1)))
    rid = unique("r")
    await project(
        projection, reservation_message("refunded", rid, EVENT_ID, version=4, seats=2, amount=30000)
    )
    await project(
        projection, reservation_message("confirmed", rid, EVENT_ID, version=3, seats=2, amount=30000)
    )
    doc = await _document(app, client, EVENT_ID)
    assert (doc["confirmedReservations"], Decimal(doc["revenue"])) == (0, 0)


async def test_a_pending_reservation_counts_nothing(analytics):
    _, app, client = analytics
    projection = app.state.projection
    await project(projection, event_message("created", event_data(EVENT_ID, 1)))
    await project(
        projection, reservation_message("created", unique("r"), EVENT_ID, version=1, seats=2, amount=30000)
    )
    doc = await _document(app, client, EVENT_ID)
    assert (doc["confirmedReservations"], Decimal(doc["revenue"])) == (0, 0)


async def test_reservations_arriving_before_their_event_are_kept_for_it(analytics):
    _, app, client = analytics
    projection = app.state.projection
    await project(
        projection, reservation_message("confirmed", unique("r"), EVENT_ID, version=2, seats=2, amount=30000)
    )
    assert await _document(app, client, EVENT_ID) is None
    assert (await client.get("/api/analytics")).json()["totalEvents"] == 0

    await project(projection, event_message("created", event_data(EVENT_ID, 1)))
    doc = await _document(app, client, EVENT_ID)
    assert (doc["name"], doc["confirmedReservations"], Decimal(doc["revenue"])) == (
        "Concert Youssou N'Dour",
        1,
        30000,
    )


async def test_concurrent_confirmations_of_one_event_all_count(analytics):
    _, app, client = analytics
    projection = app.state.projection
    await project(projection, event_message("created", event_data(EVENT_ID, 1)))
    messages = [
        reservation_message("confirmed", unique("r"), EVENT_ID, version=2, seats=1, amount=1000 + i)
        for i in range(12)
    ]
    await asyncio.gather(*(project(projection, m) for m in messages))
    doc = await _document(app, client, EVENT_ID)
    assert doc["confirmedReservations"] == 12
    assert Decimal(doc["revenue"]) == sum(1000 + i for i in range(12))


async def test_booking_messages_change_nothing(analytics):
    _, app, client = analytics
    projection = app.state.projection
    await project(projection, event_message("created", event_data(EVENT_ID, 1)))
    before = await _document(app, client, EVENT_ID)
    await project(projection, a_booking(BookingConfirmed, "s1", event_id=EVENT_ID, seats=2).envelope())
    assert await _document(app, client, EVENT_ID) == before
