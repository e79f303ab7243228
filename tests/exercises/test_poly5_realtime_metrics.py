"""POLY5: the search document follows bookings in real time: event.created, then
event.seats_booked and reservation.confirmed arrive over RabbitMQ and the API shows the new
booked seats, occupancy, reservation count and revenue."""

from decimal import Decimal

from shared.messaging.broker import Broker
from tests.integration.analytics_service.messages import (
    event_data,
    event_message,
    reservation_message,
)
from tests.integration.analytics_service.service import analytics_service
from tests.support import eventually, unique


async def test_a_booking_updates_the_search_document_in_real_time():
    async with analytics_service() as (settings, _, client):
        publisher = Broker(settings)
        await publisher.start()
        try:
            await publisher.wait_connected(15)
            event_id = 501
            created = event_data(
                event_id, 1, name="Festival Sahel", location="Saint-Louis", totalCapacity=200
            )
            await publisher.publish(event_message("created", created))

            async def indexed():
                answer = await client.get(f"/api/analytics/events/{event_id}")
                return answer.json() if answer.status_code == 200 else None

            doc = await eventually(indexed, timeout=20)
            assert (doc["bookedSeats"], doc["occupancyRate"], Decimal(doc["revenue"])) == (0, 0.0, 0)

            booked = event_data(
                event_id, 2, name="Festival Sahel", location="Saint-Louis", totalCapacity=200, bookedSeats=3
            )
            await publisher.publish(event_message("seats_booked", booked, seats=3))
            await publisher.publish(
                reservation_message("confirmed", unique("r"), event_id, version=2, seats=3, amount=45000)
            )

            async def booked_and_paid():
                doc = await indexed()
                return doc if doc and doc["bookedSeats"] == 3 and doc["confirmedReservations"] == 1 else None

            doc = await eventually(booked_and_paid, timeout=20)
            assert doc["availableSeats"] == 197
            assert doc["occupancyRate"] == 1.5
            assert Decimal(doc["revenue"]) == 45000
            assert doc["eventVersion"] == 2

            # A user searching right after the booking sees it.
            found = (await client.get("/api/analytics/search", params={"name": "sahel"})).json()
            assert [(i["eventId"], i["bookedSeats"]) for i in found["items"]] == [(event_id, 3)]
            overview = (await client.get("/api/analytics")).json()
            assert (overview["totalBookedSeats"], Decimal(overview["totalRevenue"])) == (3, 45000)
        finally:
            await publisher.close()
