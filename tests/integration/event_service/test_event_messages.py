"""Every change leaves an outbox row in its transaction; the relay publishes it to the exchange."""

import sqlalchemy as sa

from tests.integration.event_service.helpers import bound_queue, create_event, event_app, next_message


async def test_each_change_is_published_with_the_full_event():
    async with event_app() as svc:
        await svc.app.state.broker.wait_connected()
        async with bound_queue(svc.settings) as queue:
            event = await create_event(svc.client, totalCapacity=40)
            base = f"/api/events/{event['id']}"
            await svc.client.post(f"{base}/book", json={"seats": 3}, headers={"Idempotency-Key": "m1"})
            await svc.client.post(
                f"{base}/book", json={"seats": 3}, headers={"Idempotency-Key": "m1"}
            )  # replay
            await svc.client.post(f"{base}/release", json={"seats": 1})
            await svc.client.put(base, json={"name": "Renamed"})
            await svc.client.post(f"{base}/release", json={"seats": 2})
            await svc.client.delete(base)

            messages = [await next_message(queue) for _ in range(6)]

        assert [m["type"] for m in messages] == [
            "event.created",
            "event.seats_booked",
            "event.seats_released",
            "event.updated",
            "event.seats_released",
            "event.deleted",
        ]
        created, booked = messages[0], messages[1]
        assert created["aggregateType"] == "EVENT"
        assert created["aggregateId"] == str(event["id"])
        # The full event; money as a Money object, the event's price being in XOF.
        price = {"amount": event["ticketPrice"], "currency": "XOF"}
        assert created["data"] == {**event, "ticketPrice": price}
        assert booked["data"]["seats"] == 3
        assert booked["data"]["bookedSeats"] == 3
        assert booked["data"]["availableSeats"] == 40 - 3 - 2
        assert booked["data"]["version"] == 2
        assert messages[3]["data"]["name"] == "Renamed"
        async with svc.app.state.engine.connect() as conn:
            unsent = (
                await conn.execute(sa.text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
            ).scalar_one()
        assert unsent == 0


async def test_a_refused_change_writes_no_message():
    async with event_app() as svc:
        event = await create_event(svc.client, totalCapacity=1)
        refused = await svc.client.post(f"/api/events/{event['id']}/book", json={"seats": 1})
        assert refused.status_code == 409
        async with svc.app.state.engine.connect() as conn:
            types = (await conn.execute(sa.text("SELECT routing_key FROM outbox"))).scalars().all()
        assert types == ["event.created"]
