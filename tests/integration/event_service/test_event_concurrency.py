"""DB2 under load: 100 simultaneous bookings of one event never oversell, and every success is
counted in bookedSeats. The database serialises the writers, not a Python lock: the second
variant runs two real uvicorn processes that share the database."""

import asyncio

import httpx
import pytest

from tests.integration.event_service.helpers import (
    create_event,
    event_app,
    event_settings,
    service_processes,
)
from tests.support import AS_FLEET

REQUESTS = 100


def _tally(answers: list[httpx.Response]) -> tuple[int, int]:
    successes = 0
    seats = 0
    for answer in answers:
        assert answer.status_code in (200, 409), answer.text
        if answer.status_code == 200:
            successes += 1
            seats += answer.json()["seatsBooked"]
        else:
            assert answer.json()["success"] is False
    return successes, seats


async def test_100_simultaneous_bookings_in_process_never_oversell():
    async with event_app() as svc:
        # capacity 60: margin 3, so 57 seats for 100 one-seat requests.
        event = await create_event(svc.client, totalCapacity=60)
        answers = await asyncio.gather(
            *(svc.client.post(f"/api/events/{event['id']}/book", json={"seats": 1}) for _ in range(REQUESTS))
        )
        successes, seats = _tally(list(answers))
        after = (await svc.client.get(f"/api/events/{event['id']}")).json()
        assert after["bookedSeats"] == seats == successes
        assert after["bookedSeats"] <= 57
        assert after["availableSeats"] == 57 - after["bookedSeats"]
        # every accepted booking changed the row once, so the version counts them
        assert after["version"] == 1 + successes
        print(f"in-process: {successes} booked, {REQUESTS - successes} refused")


@pytest.mark.timeout(180)
async def test_100_simultaneous_bookings_across_two_processes_never_oversell():
    settings = event_settings()
    with service_processes(settings, 2) as urls:
        async with httpx.AsyncClient(timeout=60, headers=AS_FLEET) as client:
            made = await client.post(
                f"{urls[0]}/api/events",
                json={
                    "name": "Stade",
                    "eventDate": "2031-01-01T20:00:00Z",
                    "location": "Dakar",
                    "totalCapacity": 150,
                    "ticketPrice": 1000,
                },
            )
            assert made.status_code == 201, made.text
            event_id = made.json()["id"]
            # two seats each: 200 asked for 142 bookable (150 - margin 8)
            answers = await asyncio.gather(
                *(
                    client.post(f"{urls[i % 2]}/api/events/{event_id}/book", json={"seats": 2})
                    for i in range(REQUESTS)
                )
            )
            successes, seats = _tally(list(answers))
            after = (await client.get(f"{urls[1]}/api/events/{event_id}")).json()
    assert after["bookedSeats"] == seats == 2 * successes
    assert after["bookedSeats"] <= 142
    assert after["version"] == 1 + successes
    print(f"two processes: {successes} booked, {REQUESTS - successes} refused")
