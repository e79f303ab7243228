"""The projection's batches against real OpenSearch: the messages that arrived together are
applied in their order per event with the same rules as one at a time; a malformed one fails
alone; the document is readable as soon as the batch is done; a batch handled again (a
redelivery after a crash before the acknowledgement) changes nothing."""

from decimal import Decimal

from analytics_service.domain import MalformedMessage
from shared.contracts import BookingConfirmed
from tests.integration.analytics_service.messages import event_data, event_message, reservation_message
from tests.messages import a_booking
from tests.support import unique

EVENT_ID = 43
OTHER_EVENT = 44


async def _visible(client, event_id):
    """As a reader sees it, without forcing a refresh first."""
    answer = await client.get(f"/api/analytics/events/{event_id}")
    return answer.json() if answer.status_code == 200 else None


async def test_a_batch_applies_each_event_in_order_and_a_malformed_message_fails_alone(analytics):
    _, app, client = analytics
    projection = app.state.projection
    rid = unique("r")
    batch = [
        event_message("created", event_data(EVENT_ID, 1, totalCapacity=10)),
        reservation_message("created", rid, EVENT_ID, version=1, seats=2, amount=30000),
        event_message("created", event_data(OTHER_EVENT, 1)),
        reservation_message("confirmed", rid, EVENT_ID, version=2, seats=2, amount=30000),
        event_message("updated", event_data(0, 1)),  # no event has id 0: malformed
        event_message("seats_booked", event_data(EVENT_ID, 2, totalCapacity=10, bookedSeats=2), 2),
        event_message("updated", event_data(EVENT_ID, 1, name="Stale")),  # older than version 2
        a_booking(BookingConfirmed, "s1", event_id=EVENT_ID, seats=2).envelope(),
        reservation_message("confirmed", unique("r"), OTHER_EVENT, version=2, seats=1, amount=5000),
    ]
    outcomes = await projection.handle_batch(batch)
    assert [type(o) if o is not None else None for o in outcomes] == [
        None,
        None,
        None,
        None,
        MalformedMessage,
        None,
        None,
        None,
        None,
    ]
    doc = await _visible(client, EVENT_ID)
    assert doc is not None
    assert (doc["name"], doc["eventVersion"], doc["bookedSeats"], doc["occupancyRate"]) == (
        "Concert Youssou N'Dour",
        2,
        2,
        20.0,
    )
    assert (doc["confirmedReservations"], Decimal(doc["revenue"])) == (1, 30000)
    other = await _visible(client, OTHER_EVENT)
    assert other is not None
    assert (other["confirmedReservations"], Decimal(other["revenue"])) == (1, 5000)

    # The same batch again (delivered again after a crash before its acknowledgement).
    again = await projection.handle_batch(batch)
    assert [o is None for o in again] == [o is None for o in outcomes]
    assert await _visible(client, EVENT_ID) == doc
    assert await _visible(client, OTHER_EVENT) == other


async def test_confirmations_of_one_event_in_one_batch_all_count(analytics):
    _, app, client = analytics
    projection = app.state.projection
    await projection.handle_batch([event_message("created", event_data(EVENT_ID, 1))])
    confirmations = [
        reservation_message("confirmed", unique("r"), EVENT_ID, version=2, seats=1, amount=1000 + i)
        for i in range(12)
    ]
    outcomes = await projection.handle_batch(confirmations[:5])
    outcomes += await projection.handle_batch(confirmations[5:])
    assert outcomes == [None] * 12
    doc = await _visible(client, EVENT_ID)
    assert doc["confirmedReservations"] == 12
    assert Decimal(doc["revenue"]) == sum(1000 + i for i in range(12))


async def test_a_cancellation_after_its_confirmation_in_one_batch_takes_the_money_back(analytics):
    _, app, client = analytics
    projection = app.state.projection
    kept, cancelled = unique("r"), unique("r")
    outcomes = await projection.handle_batch(
        [
            event_message("created", event_data(EVENT_ID, 1)),
            reservation_message("confirmed", kept, EVENT_ID, version=2, seats=1, amount=15000),
            reservation_message("confirmed", cancelled, EVENT_ID, version=2, seats=3, amount=45000),
            reservation_message("cancelled", cancelled, EVENT_ID, version=3, seats=3, amount=45000),
            reservation_message("confirmed", cancelled, EVENT_ID, version=2, seats=3, amount=45000),
        ]
    )
    assert outcomes == [None] * 5
    doc = await _visible(client, EVENT_ID)
    assert (doc["confirmedReservations"], Decimal(doc["revenue"])) == (1, 15000)
