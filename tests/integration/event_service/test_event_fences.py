"""Fencing a booking its caller gave up on (PUT /api/events/{id}/book/fences/{key}): the
booking made under the key is answered, or the key is fenced and a late copy of the booking
books nothing, even when the two race."""

import asyncio

from tests.integration.event_service.helpers import create_event
from tests.support import unique


async def _booked(client, event_id: int) -> int:
    seats: int = (await client.get(f"/api/events/{event_id}")).json()["bookedSeats"]
    return seats


async def test_a_fenced_key_refuses_a_late_booking_which_books_nothing(client):
    event = await create_event(client)
    key = f"{unique('saga')}:RESERVE_SEATS"
    fenced = await client.put(f"/api/events/{event['id']}/book/fences/{key}")
    assert fenced.status_code == 200
    assert fenced.json() == {"idempotencyKey": key, "fenced": True, "statusCode": None, "answer": None}
    late = await client.post(
        f"/api/events/{event['id']}/book", json={"seats": 2}, headers={"Idempotency-Key": key}
    )
    assert late.status_code == 409
    assert late.json()["title"] == "Idempotency key fenced"
    assert await _booked(client, event["id"]) == 0
    assert (await client.put(f"/api/events/{event['id']}/book/fences/{key}")).json()["fenced"] is True


async def test_fencing_a_booking_that_was_made_answers_it(client):
    event = await create_event(client)
    key = f"{unique('saga')}:RESERVE_SEATS"
    made = await client.post(
        f"/api/events/{event['id']}/book", json={"seats": 2}, headers={"Idempotency-Key": key}
    )
    assert made.status_code == 200
    fence = (await client.put(f"/api/events/{event['id']}/book/fences/{key}")).json()
    assert fence == {"idempotencyKey": key, "fenced": False, "statusCode": 200, "answer": made.json()}
    assert await _booked(client, event["id"]) == 2


async def test_a_booking_racing_its_fence_is_either_answered_by_it_or_never_made(client):
    event = await create_event(client, totalCapacity=500)
    url = f"/api/events/{event['id']}/book"
    keys = [f"{unique('saga')}:RESERVE_SEATS" for _ in range(12)]

    async def race(key: str):
        return await asyncio.gather(
            client.post(url, json={"seats": 1}, headers={"Idempotency-Key": key}),
            client.put(f"{url}/fences/{key}"),
        )

    done = 0
    for booked, fenced in await asyncio.gather(*(race(k) for k in keys)):
        if fenced.json()["fenced"]:
            assert booked.status_code == 409, booked.text
        else:
            assert booked.status_code == 200
            assert fenced.json()["answer"] == booked.json()
            done += 1
    assert await _booked(client, event["id"]) == done
