"""Charges: creation, idempotency under concurrency, one live charge per reservation, declines."""

import asyncio

import httpx

from tests.integration.payment_service.helpers import charge, payment_app
from tests.support import unique


async def test_a_charge_is_created_with_its_location_and_read_back(client: httpx.AsyncClient):
    body = {"reservation_id": unique("res"), "user_id": 42, "amount": "1500.00", "payment_method": "card"}
    created = await client.post("/api/payments", json=body)
    assert created.status_code == 201
    payment = created.json()
    assert created.headers["location"].endswith(f"/api/payments/{payment['id']}")
    assert payment["status"] == "completed"
    assert payment["userId"] == "42"
    assert payment["amount"] == "1500"  # a decimal string, in the places of XOF (none)
    assert payment["currency"] == "XOF"
    assert payment["paymentMethod"] == "card"
    assert payment["failureReason"] is None
    assert payment["version"] == 1
    read = await client.get(created.headers["location"])
    assert read.status_code == 200
    assert read.json() == payment


async def test_bad_input_is_a_422_naming_each_field_and_stores_nothing(client: httpx.AsyncClient):
    reservation = unique("res")
    answer = await client.post(
        "/api/payments",
        json={
            "reservationId": reservation,
            "userId": "u",
            "amount": 0,
            "currency": "xof",
            "paymentMethod": "cash",
        },
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in answer.json()["errors"]} == {"amount", "currency", "paymentMethod"}
    extra = await client.post("/api/payments", json={**charge(reservation), "status": "refunded"})
    assert extra.status_code == 422
    listed = await client.get("/api/payments", params={"reservationId": reservation})
    assert listed.json()["total"] == 0


async def test_concurrent_creations_with_one_key_make_exactly_one_payment(client: httpx.AsyncClient):
    key = unique("key")
    body = charge()
    answers = await asyncio.gather(
        *(client.post("/api/payments", json=body, headers={"Idempotency-Key": key}) for _ in range(12))
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    by_key = (await client.get("/api/payments", params={"idempotencyKey": key})).json()
    assert by_key["total"] == 1
    assert by_key["items"][0]["id"] == answers[0].json()["id"]
    by_reservation = await client.get("/api/payments", params={"reservationId": body["reservationId"]})
    assert by_reservation.json()["total"] == 1


async def test_a_key_reused_with_another_body_is_refused(client: httpx.AsyncClient):
    key = unique("key")
    first = await client.post("/api/payments", json=charge(), headers={"Idempotency-Key": key})
    assert first.status_code == 201
    other = await client.post("/api/payments", json=charge(), headers={"Idempotency-Key": key})
    assert other.status_code == 422
    assert other.json()["title"] == "Idempotency key reused"


async def test_a_lost_answer_is_found_by_its_idempotency_key(client: httpx.AsyncClient):
    key = unique("key")
    created = (await client.post("/api/payments", json=charge(), headers={"Idempotency-Key": key})).json()
    found = (await client.get("/api/payments", params={"idempotencyKey": key})).json()
    assert found["items"] == [created]
    nothing = (await client.get("/api/payments", params={"idempotencyKey": unique("never")})).json()
    assert nothing == {"items": [], "total": 0, "page": 1, "size": 20}


async def test_a_reservation_is_charged_successfully_at_most_once(client: httpx.AsyncClient):
    reservation = unique("res")
    first = (await client.post("/api/payments", json=charge(reservation))).json()
    second = await client.post("/api/payments", json=charge(reservation, amount=10))
    assert second.status_code == 409
    assert second.json()["existingPaymentId"] == first["id"]
    assert str(first["id"]) in second.json()["detail"]


async def test_concurrent_charges_of_one_reservation_with_different_keys_make_one_payment(
    client: httpx.AsyncClient,
):
    reservation = unique("res")
    answers = await asyncio.gather(
        *(
            client.post("/api/payments", json=charge(reservation), headers={"Idempotency-Key": unique("k")})
            for _ in range(8)
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * 7
    listed = (await client.get("/api/payments", params={"reservationId": reservation})).json()
    assert listed["total"] == 1


async def test_a_charge_above_the_limit_is_declined_and_the_reservation_may_be_charged_again(
    client: httpx.AsyncClient,
):
    reservation = unique("res")
    declined = await client.post("/api/payments", json=charge(reservation, amount=1_500_000))
    assert declined.status_code == 201
    assert declined.json()["status"] == "failed"
    assert declined.json()["failureReason"] == (
        "Declined: amount 1500000.00 XOF exceeds the single-charge limit of 1000000.00 XOF"
    )
    at_the_limit = await client.post("/api/payments", json=charge(reservation, amount=1_000_000))
    assert at_the_limit.status_code == 201
    assert at_the_limit.json()["status"] == "completed"


async def test_the_decline_limit_comes_from_the_settings():
    async with payment_app(None, decline_above="100") as (client, _):
        declined = (await client.post("/api/payments", json=charge(amount="100.01", currency="EUR"))).json()
        approved = (await client.post("/api/payments", json=charge(amount=100))).json()
    assert declined["status"] == "failed"
    assert declined["failureReason"] == (
        "Declined: amount 100.01 EUR exceeds the single-charge limit of 100.00 EUR"
    )
    assert approved["status"] == "completed"


async def test_an_amount_is_checked_against_its_currency_minor_unit(client: httpx.AsyncClient):
    refused = await client.post("/api/payments", json=charge(amount=15000.55, currency="XOF"))
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["amount"]
    assert "XOF" in refused.json()["errors"][0]["message"]
    cents = await client.post("/api/payments", json=charge(amount=12.5, currency="EUR"))
    assert cents.status_code == 201
    assert (cents.json()["amount"], cents.json()["currency"]) == ("12.50", "EUR")
