"""Fencing a saga's reservation its caller gave up on (PUT /api/reservations/fences/{key}):
the reservation made under the key is answered, or the key is fenced and a late copy of the
creation makes nothing, even when the two race. The tombstone is never listed."""

import asyncio

from tests.integration.reservation_service.harness import create_event, reservation_body
from tests.support import unique


async def test_a_fenced_key_refuses_a_late_creation_which_makes_nothing(client, event_url):
    event = await create_event(event_url)
    saga_id = unique("saga")
    key = f"{saga_id}:CREATE_RESERVATION"
    fenced = await client.put(f"/api/reservations/fences/{key}")
    assert fenced.status_code == 200
    assert fenced.json() == {"idempotencyKey": key, "fenced": True, "statusCode": None, "answer": None}
    body = reservation_body(event["id"], saga_id=saga_id)
    late = await client.post("/api/reservations", json=body, headers={"Idempotency-Key": key})
    assert late.status_code == 409, late.text
    assert late.json()["title"] == "Idempotency key fenced"
    listed = await client.get("/api/reservations", params={"eventId": event["id"]})
    assert listed.json()["total"] == 0
    everything = await client.get("/api/reservations", params={"size": 100})
    assert all(r.get("userId") for r in everything.json()["items"])  # no tombstone listed
    assert (await client.put(f"/api/reservations/fences/{key}")).json()["fenced"] is True


async def test_fencing_a_reservation_that_was_made_answers_it(client, event_url):
    event = await create_event(event_url)
    saga_id = unique("saga")
    key = f"{saga_id}:CREATE_RESERVATION"
    body = reservation_body(event["id"], saga_id=saga_id)
    made = await client.post("/api/reservations", json=body, headers={"Idempotency-Key": key})
    assert made.status_code == 201
    fence = (await client.put(f"/api/reservations/fences/{key}")).json()
    assert fence == {"idempotencyKey": key, "fenced": False, "statusCode": 201, "answer": made.json()}


async def test_a_creation_racing_its_fence_is_either_answered_by_it_or_never_made(client, event_url):
    event = await create_event(event_url)
    sagas = [unique("saga") for _ in range(10)]

    async def race(saga_id: str):
        key = f"{saga_id}:CREATE_RESERVATION"
        return await asyncio.gather(
            client.post(
                "/api/reservations",
                json=reservation_body(event["id"], saga_id=saga_id),
                headers={"Idempotency-Key": key},
            ),
            client.put(f"/api/reservations/fences/{key}"),
        )

    made = 0
    for created, fenced in await asyncio.gather(*(race(s) for s in sagas)):
        if fenced.json()["fenced"]:
            assert created.status_code == 409, created.text
        else:
            assert created.status_code == 201
            assert fenced.json()["answer"] == created.json()
            made += 1
    listed = await client.get("/api/reservations", params={"eventId": event["id"]})
    assert listed.json()["total"] == made
