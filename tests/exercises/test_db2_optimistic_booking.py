"""DB2: booking is an UPDATE ... WHERE id = :id AND version = :v with bounded retries; many
simultaneous writers never oversell, and each success moves the version once."""

import asyncio

import sqlalchemy as sa

from event_service.service import Events
from event_service.store import EventRepository
from tests.integration.event_service.helpers import create_event, event_app


async def test_simultaneous_bookings_never_oversell_and_each_bumps_the_version():
    async with event_app() as svc:
        event = await create_event(svc.client, totalCapacity=40)  # 38 bookable
        url = f"/api/events/{event['id']}/book"
        answers = await asyncio.gather(*(svc.client.post(url, json={"seats": 1}) for _ in range(60)))
        successes = sum(a.status_code == 200 for a in answers)
        assert {a.status_code for a in answers} <= {200, 409}
        after = (await svc.client.get(f"/api/events/{event['id']}")).json()
        assert after["bookedSeats"] == successes <= 38
        assert after["version"] == 1 + successes


async def test_a_write_against_a_moved_version_changes_nothing():
    async with event_app() as svc:
        event = await create_event(svc.client)
        engine = svc.app.state.engine
        await svc.client.post(f"/api/events/{event['id']}/book", json={"seats": 1})  # version 1 -> 2
        async with engine.begin() as conn:
            stale = await conn.execute(
                sa.text(
                    "UPDATE events SET booked_seats = 50, version = version + 1"
                    " WHERE id = :id AND version = 1"
                ),
                {"id": event["id"]},
            )
            assert stale.rowcount == 0
        assert (await svc.client.get(f"/api/events/{event['id']}")).json()["bookedSeats"] == 1


async def test_when_every_attempt_loses_the_answer_is_409_busy_retry():
    async with event_app() as svc:
        event = await create_event(svc.client)
        # A repository allowed a single attempt, against writers holding the row: some must lose.
        events = Events(EventRepository(svc.app.state.engine, max_attempts=1))
        results = await asyncio.gather(
            *(events.book(event["id"], 1, None) for _ in range(20)), return_exceptions=True
        )
        lost = [r for r in results if isinstance(r, Exception)]
        won = [r for r in results if not isinstance(r, Exception)]
        assert all(r.status == 409 and "busy" in r.detail for r in lost)  # type: ignore[union-attr]
        assert (await svc.client.get(f"/api/events/{event['id']}")).json()["bookedSeats"] == len(won)
