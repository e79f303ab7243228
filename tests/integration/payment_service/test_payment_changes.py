"""Status changes (legal, versioned), refunds (idempotent), and the outbox rows they write."""

import asyncio
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from payment_service.domain import Payment, Status
from tests.integration.payment_service.helpers import charge
from tests.support import unique


async def _completed(client: httpx.AsyncClient) -> dict:
    answer = await client.post("/api/payments", json=charge())
    assert answer.json()["status"] == "completed"
    return answer.json()


async def _outbox_types(app: FastAPI, payment_id: int) -> list[str]:
    async with app.state.engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT routing_key FROM outbox WHERE payload->>'aggregateId' = :id "
                "AND payload->>'aggregateType' = 'PAYMENT' ORDER BY id"
            ),
            {"id": str(payment_id)},
        )
        return [r.routing_key for r in rows]


async def _insert_pending(app: FastAPI) -> int:
    # No route makes a pending payment (the provider answers at once); the machine allows it.
    async with app.state.engine.begin() as conn:
        return (
            await conn.execute(
                sa.text(
                    "INSERT INTO payments (reservation_id, user_id, amount, currency, payment_method, status)"
                    " VALUES (:r, 'u', 10, 'XOF', 'card', 'pending') RETURNING id"
                ),
                {"r": unique("res")},
            )
        ).scalar_one()


async def test_refunding_twice_is_one_refund(client: httpx.AsyncClient, app: FastAPI):
    payment = await _completed(client)
    url = f"/api/payments/{payment['id']}/compensate"
    first = await client.post(
        url, json={"reason": "saga compensation"}, headers={"Idempotency-Key": unique("k")}
    )
    second = await client.post(
        url, json={"reason": "saga compensation"}, headers={"Idempotency-Key": unique("k")}
    )
    assert first.status_code == second.status_code == 200
    assert first.json()["status"] == "refunded"
    assert first.json()["version"] == 3  # completed -> refunding -> refunded
    assert second.json() == first.json()
    assert await _outbox_types(app, payment["id"]) == ["payment.completed", "payment.refunded"]


async def test_concurrent_refunds_refund_once(client: httpx.AsyncClient, app: FastAPI):
    payment = await _completed(client)
    provider = app.state.payments.provider
    made = provider.refunds_made
    answers = await asyncio.gather(
        *(client.post(f"/api/payments/{payment['id']}/compensate") for _ in range(6))
    )
    assert {a.status_code for a in answers} == {200}
    assert {(a.json()["status"], a.json()["version"]) for a in answers} == {("refunded", 3)}
    assert (await _outbox_types(app, payment["id"])).count("payment.refunded") == 1
    assert provider.refunds_made == made + 1


async def test_a_refund_interrupted_after_the_provider_call_is_finished_without_a_second_refund(
    client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
):
    payment = await _completed(client)
    payments = app.state.payments
    made = payments.provider.refunds_made
    write = payments.store.write

    async def crash_before_the_outcome(after: Payment, *args: object, **kwargs: Any) -> bool:
        if after.status is Status.REFUNDED:
            raise RuntimeError("the process died before recording the refund")
        return await write(after, *args, **kwargs)

    monkeypatch.setattr(payments.store, "write", crash_before_the_outcome)
    with pytest.raises(RuntimeError):
        await payments.compensate(payment["id"], None, None)
    # The provider refunded, the payment says refunding, no row was held locked meanwhile.
    assert payments.provider.refunds_made == made + 1
    assert (await payments.store.get(payment["id"])).status is Status.REFUNDING
    monkeypatch.setattr(payments.store, "write", write)
    again = await client.post(f"/api/payments/{payment['id']}/compensate")
    assert (again.status_code, again.json()["status"]) == (200, "refunded")
    assert payments.provider.refunds_made == made + 1  # the same refund key: answered, not made again
    assert (await _outbox_types(app, payment["id"])).count("payment.refunded") == 1


async def test_compensating_a_declined_payment_changes_nothing(client: httpx.AsyncClient, app: FastAPI):
    declined = (await client.post("/api/payments", json=charge(amount=2_000_000))).json()
    answer = await client.post(f"/api/payments/{declined['id']}/compensate")
    assert answer.status_code == 200
    assert answer.json() == declined
    assert await _outbox_types(app, declined["id"]) == ["payment.failed"]


async def test_a_pending_payment_cannot_be_refunded(client: httpx.AsyncClient, app: FastAPI):
    pending_id = await _insert_pending(app)
    answer = await client.post(f"/api/payments/{pending_id}/compensate")
    assert answer.status_code == 409
    assert answer.json()["currentStatus"] == "pending"


async def test_unknown_payments_are_404(client: httpx.AsyncClient):
    assert (await client.get("/api/payments/999999")).status_code == 404
    assert (await client.post("/api/payments/999999/compensate")).status_code == 404
    assert (await client.put("/api/payments/999999/status", json={"status": "failed"})).status_code == 404
    assert (await client.get("/api/payments/not-a-number")).status_code == 422


async def test_legal_status_changes_follow_the_machine_and_announce_themselves(
    client: httpx.AsyncClient, app: FastAPI
):
    pending_id = await _insert_pending(app)
    failed = await client.put(
        f"/api/payments/{pending_id}/status", json={"status": "failed", "reason": "card expired"}
    )
    assert failed.status_code == 200
    assert failed.json()["status"] == "failed"
    assert failed.json()["failureReason"] == "card expired"
    assert failed.json()["version"] == 2
    assert await _outbox_types(app, pending_id) == ["payment.failed"]

    payment = await _completed(client)
    url = f"/api/payments/{payment['id']}/status"
    refunding = await client.put(url, json={"status": "refunding"})
    assert refunding.status_code == 200
    assert refunding.json()["status"] == "refunding"
    back = await client.put(url, json={"status": "completed"})
    assert back.status_code == 409
    assert back.json()["currentStatus"] == "refunding"
    refunded = await client.put(url, json={"status": "refunded"})
    assert refunded.json()["status"] == "refunded"
    assert await _outbox_types(app, payment["id"]) == ["payment.completed", "payment.refunded"]


async def test_a_compensation_finishes_a_refund_left_in_refunding(client: httpx.AsyncClient):
    payment = await _completed(client)
    await client.put(f"/api/payments/{payment['id']}/status", json={"status": "refunding"})
    answer = await client.post(f"/api/payments/{payment['id']}/compensate")
    assert answer.status_code == 200
    assert answer.json()["status"] == "refunded"


async def test_a_status_change_with_a_stale_version_is_refused(client: httpx.AsyncClient):
    payment = await _completed(client)
    url = f"/api/payments/{payment['id']}/status"
    stale_body = await client.put(url, json={"status": "refunding", "version": 7})
    assert stale_body.status_code == 409
    assert stale_body.json()["currentVersion"] == 1
    stale_header = await client.put(url, json={"status": "refunding"}, headers={"If-Match": '"3"'})
    assert stale_header.status_code == 409
    garbage = await client.put(url, json={"status": "refunding"}, headers={"If-Match": "soon"})
    assert garbage.status_code == 400
    fresh = await client.put(url, json={"status": "refunding"}, headers={"If-Match": '"1"'})
    assert fresh.status_code == 200
    assert fresh.headers["etag"] == '"2"'
    unknown = await client.put(url, json={"status": "lost"})
    assert unknown.status_code == 422


async def test_a_status_change_with_a_key_is_replayed_not_refused(client: httpx.AsyncClient):
    payment = await _completed(client)
    url = f"/api/payments/{payment['id']}/status"
    key = unique("k")
    first = await client.put(url, json={"status": "refunding"}, headers={"Idempotency-Key": key})
    again = await client.put(url, json={"status": "refunding"}, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"


async def test_ids_outside_bigint_are_422_not_500(client: httpx.AsyncClient):
    for bad in ("0", "-1", str(2**63), "99999999999999999999999"):
        assert (await client.get(f"/api/payments/{bad}")).status_code == 422, bad
        assert (await client.post(f"/api/payments/{bad}/compensate")).status_code == 422, bad
