"""Fencing a charge its caller gave up on (PUT /api/payments/fences/{key}): the charge made
under the key is answered, or the key is fenced and a late copy of the charge takes nothing,
even when the two race."""

import asyncio

import httpx

from tests.integration.payment_service.helpers import charge
from tests.support import unique


async def _by_key(client: httpx.AsyncClient, key: str) -> list[dict]:
    listed = await client.get("/api/payments", params={"idempotencyKey": key})
    items: list[dict] = listed.json()["items"]
    return items


async def test_a_fenced_key_refuses_a_late_charge_which_takes_nothing(client: httpx.AsyncClient):
    key = f"{unique('saga')}:PROCESS_PAYMENT"
    fenced = await client.put(f"/api/payments/fences/{key}")
    assert fenced.status_code == 200
    assert fenced.json() == {"idempotencyKey": key, "fenced": True, "statusCode": None, "answer": None}

    body = charge()
    late = await client.post("/api/payments", json=body, headers={"Idempotency-Key": key})
    assert late.status_code == 409
    assert late.headers["content-type"].startswith("application/problem+json")
    assert late.json()["title"] == "Idempotency key fenced"
    assert late.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await _by_key(client, key) == []
    listed = await client.get("/api/payments", params={"reservationId": body["reservationId"]})
    assert listed.json()["total"] == 0
    # fencing again is harmless: still fenced
    assert (await client.put(f"/api/payments/fences/{key}")).json()["fenced"] is True


async def test_fencing_a_charge_that_was_made_answers_it(client: httpx.AsyncClient):
    key = f"{unique('saga')}:PROCESS_PAYMENT"
    made = await client.post("/api/payments", json=charge(), headers={"Idempotency-Key": key})
    assert made.status_code == 201
    fence = (await client.put(f"/api/payments/fences/{key}")).json()
    assert fence == {"idempotencyKey": key, "fenced": False, "statusCode": 201, "answer": made.json()}
    again = await client.post("/api/payments", json=charge(made.json()["reservationId"]))
    assert again.status_code == 409  # the reservation is charged; the fence changed nothing


async def test_a_charge_racing_its_fence_is_either_answered_by_it_or_never_made(client: httpx.AsyncClient):
    keys = [f"{unique('saga')}:PROCESS_PAYMENT" for _ in range(12)]

    async def race(key: str) -> tuple[httpx.Response, httpx.Response]:
        created, fenced = await asyncio.gather(
            client.post("/api/payments", json=charge(), headers={"Idempotency-Key": key}),
            client.put(f"/api/payments/fences/{key}"),
        )
        return created, fenced

    for key, (created, fenced) in zip(keys, await asyncio.gather(*(race(k) for k in keys)), strict=True):
        stored = await _by_key(client, key)
        if fenced.json()["fenced"]:
            assert created.status_code == 409 and stored == [], (created.text, stored)
        else:
            assert created.status_code == 201
            assert fenced.json()["answer"] == created.json() == stored[0]


async def test_a_fence_key_no_header_could_carry_is_a_422_naming_it(client: httpx.AsyncClient):
    for key in ("k" * 256, "a%00b", "caf%C3%A9", "a%20b"):
        answer = await client.put(f"/api/payments/fences/{key}")
        assert answer.status_code == 422, (key, answer.text)
        assert answer.json()["errors"][0]["field"] == "path.key"
