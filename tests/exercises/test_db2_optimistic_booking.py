"""DB2: a booking writes only when the version it read is still current, with bounded
retries; many simultaneous writers never oversell, and each success moves the version once.

The first test drives the store's conditional write itself (one more seat on the version it
read, no retry), so it needs neither DB1's rule nor REST1's body check: of the racing writers,
each that is told it wrote must have landed exactly once."""

import asyncio
from dataclasses import replace

import sqlalchemy as sa

from event_service import messaging
from event_service.domain import Event
from event_service.service import Events
from event_service.store import SCOPE_BOOK, EventRepository
from shared import contracts
from tests.integration.event_service.helpers import create_event, event_app


async def test_racing_writes_through_the_repository_never_lose_an_update():
    async with event_app() as svc:
        event = await create_event(svc.client, totalCapacity=100)
        repository = EventRepository(svc.app.state.engine)

        async def book_one() -> bool:
            async with repository.seat_changes() as tx:
                current = await tx.read(event["id"], SCOPE_BOOK, None)
                assert isinstance(current, Event)
                after = replace(current, booked_seats=current.booked_seats + 1, version=current.version + 1)
                message = messaging.seats_message(contracts.EventSeatsBooked, after, 1)
                return await tx.write(after, current.version, message, None, scope=SCOPE_BOOK, response={})

        won = sum(await asyncio.gather(*(book_one() for _ in range(30))))
        assert won > 0
        # Each success wrote on the version it read: none overwrote another's seat.
        after = await repository.get(event["id"])
        assert (after.booked_seats, after.version) == (won, 1 + won)


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
        # A use case allowed a single attempt, against writers holding the row: some must lose.
        events = Events(EventRepository(svc.app.state.engine), max_attempts=1)
        results = await asyncio.gather(
            *(events.book(event["id"], 1, None) for _ in range(20)), return_exceptions=True
        )
        lost = [r for r in results if isinstance(r, Exception)]
        won = [r for r in results if not isinstance(r, Exception)]
        assert all(r.status == 409 and "busy" in r.detail for r in lost)  # type: ignore[union-attr]
        assert (await svc.client.get(f"/api/events/{event['id']}")).json()["bookedSeats"] == len(won)
