"""The cancellation saga against fake participants: a completed booking is cancelled in four
keyed steps (CANCEL_RESERVATION, REFUND_PAYMENT, RELEASE_SEATS, NOTIFY) and booking.cancelled
is queued; the start refuses what the rules refuse (a running booking saga, another user, a
reservation not confirmed, a started event); a refund the provider refuses brings the booking
back (reinstated) and ends COMPENSATION_FAILED with the reason; a refund whose answer was lost
is settled by reading the payment; a refused first step ends COMPENSATED with nothing done."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from saga_orchestrator.app import create_app
from tests.integration.saga_orchestrator.fakes import Fakes, serve_fakes
from tests.integration.saga_orchestrator.helpers import (
    booking,
    outbox,
    saga_settings,
    start,
    steps_of,
    wait_for,
)
from tests.support import running

CANCEL_STEPS = ["CANCEL_RESERVATION", "REFUND_PAYMENT", "RELEASE_SEATS", "NOTIFY"]


async def _booked(client, fakes: Fakes) -> dict:
    saga = await wait_for(client, await start(client, booking(1)))
    assert saga["status"] == "COMPLETED", saga
    fakes.calls.clear()
    return saga


async def _cancel(client, reservation_id: str, **kwargs) -> str:
    answer = await client.post("/api/saga/cancellation", json={"reservationId": reservation_id, **kwargs})
    assert answer.status_code == 202, answer.text
    assert answer.headers["Location"] == f"/api/saga/{answer.json()['sagaId']}"
    return str(answer.json()["sagaId"])


@pytest.fixture
async def world():
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=5000, capacity=100)
        settings = saga_settings(fakes.url)
        async with running(create_app(settings)) as client:
            yield client, fakes, settings


async def test_a_completed_booking_is_cancelled_refunded_released_and_announced(world):
    client, fakes, settings = world
    booked = await _booked(client, fakes)
    saga_id = await _cancel(client, booked["reservationId"], reason="cannot come")
    saga = await wait_for(client, saga_id)
    assert saga["status"] == "COMPLETED", saga
    assert saga["type"] == "cancellation" and saga["error"] is None
    assert steps_of(saga, "step") == CANCEL_STEPS and steps_of(saga, "compensation") == []
    assert (saga["reservationId"], saga["paymentId"], saga["seats"]) == (
        booked["reservationId"],
        booked["paymentId"],
        2,
    )
    assert Decimal(saga["amount"]) == 10000
    keyed = [c.key for c in fakes.calls if c.key]
    assert keyed == [f"{saga_id}:{s}" for s in ("CANCEL_RESERVATION", "REFUND_PAYMENT", "RELEASE_SEATS")]
    assert fakes.reservations[booked["reservationId"]]["status"] == "cancelled"
    assert fakes.payments[booked["paymentId"]]["status"] == "refunded"
    assert fakes.events[1]["bookedSeats"] == 0
    cancelled = [m for m in outbox(settings.database_url) if m["type"] == "booking.cancelled"]
    assert len(cancelled) == 1
    data = cancelled[0]["data"]
    assert (data["sagaId"], data["bookingSagaId"], data["reservationId"]) == (
        saga_id,
        booked["sagaId"],
        booked["reservationId"],
    )
    assert (data["userEmail"], data["seats"], data["amount"], data["reason"]) == (
        "awa@example.com",
        2,
        {"amount": "10000", "currency": "XOF"},  # money: one Money object, a decimal string
        "cannot come",
    )
    listed = (await client.get("/api/saga", params={"status": "COMPLETED"})).json()["items"]
    assert {s["type"] for s in listed} == {"booking", "cancellation"}


async def test_the_same_key_starts_one_cancellation_and_another_body_is_422(world):
    client, fakes, _ = world
    booked = await _booked(client, fakes)
    body = {"reservationId": booked["reservationId"], "reason": "twice"}
    headers = {"Idempotency-Key": "cancel-once"}
    answers = await asyncio.gather(
        *(client.post("/api/saga/cancellation", json=body, headers=headers) for _ in range(3))
    )
    assert {a.status_code for a in answers} == {202}
    ids = {a.json()["sagaId"] for a in answers}
    assert len(ids) == 1
    saga = await wait_for(client, ids.pop())
    assert saga["status"] == "COMPLETED"
    again = await client.post("/api/saga/cancellation", json=body, headers=headers)
    assert again.status_code == 202 and again.json()["sagaId"] == saga["sagaId"]
    other = await client.post("/api/saga/cancellation", json={**body, "reason": "other"}, headers=headers)
    assert other.status_code == 422
    assert fakes.routes().count("refund") == 1
    # Without the key, a second cancellation of the same booking names the first one.
    late = await client.post("/api/saga/cancellation", json=body)
    assert late.status_code == 409 and late.json()["sagaId"] == saga["sagaId"]


async def test_a_cancellation_while_the_booking_saga_runs_is_refused_naming_it(world):
    client, fakes, _ = world
    fakes.modes["pay"] = "hang"
    booking_id = await start(client, booking(1))
    running_saga = await wait_for(client, booking_id, {"RUNNING"})
    while running_saga["reservationId"] is None:
        running_saga = (await client.get(f"/api/saga/{booking_id}")).json()
        await asyncio.sleep(0.02)
    refused = await client.post(
        "/api/saga/cancellation", json={"reservationId": running_saga["reservationId"]}
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["sagaId"] == booking_id and booking_id in refused.json()["detail"]
    assert (await client.get("/api/saga", params={"status": "STARTED"})).json()["total"] == 0
    fakes.modes.pop("pay")
    fakes.unhang.set()
    assert (await wait_for(client, booking_id))["status"] == "COMPLETED"
    saga = await wait_for(client, await _cancel(client, running_saga["reservationId"]))
    assert saga["status"] == "COMPLETED"
    assert fakes.events[1]["bookedSeats"] == 0


async def test_the_rules_refuse_another_user_a_cancelled_booking_and_a_started_event(world):
    client, fakes, _ = world
    booked = await _booked(client, fakes)
    rid = booked["reservationId"]
    other = await client.post("/api/saga/cancellation", json={"reservationId": rid, "userId": "someone"})
    assert other.status_code == 403 and other.json()["errors"][0]["field"] == "userId"
    unknown = await client.post("/api/saga/cancellation", json={"reservationId": "nope"})
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "reservationId"
    fakes.events[1]["eventDate"] = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    started = await client.post("/api/saga/cancellation", json={"reservationId": rid, "userId": "user-1"})
    assert started.status_code == 409 and started.json()["errors"][0]["field"] == "eventDate"
    assert "refund" not in fakes.routes() and "cancel_reservation" not in fakes.routes()
    assert (await client.get("/api/saga", params={"status": "STARTED"})).json()["total"] == 0


async def test_a_refund_the_provider_refuses_brings_the_booking_back_and_fails_loudly(world):
    client, fakes, _ = world
    booked = await _booked(client, fakes)
    fakes.refuse_refunds = True
    saga = await wait_for(client, await _cancel(client, booked["reservationId"]))
    assert saga["status"] == "COMPENSATION_FAILED", saga
    assert "Refund refused by the provider" in saga["error"]
    assert "confirmed again" in saga["error"]
    assert steps_of(saga, "step") == ["CANCEL_RESERVATION", "REFUND_PAYMENT"]
    assert steps_of(saga, "compensation") == ["REINSTATE_RESERVATION"]
    assert fakes.reservations[booked["reservationId"]]["status"] == "confirmed"
    assert fakes.events[1]["bookedSeats"] == 2  # the booking stands: its seats stay taken
    assert "release" not in fakes.routes()
    # A person settles the payment before another cancellation is tried.
    again = await client.post("/api/saga/cancellation", json={"reservationId": booked["reservationId"]})
    assert again.status_code == 409 and again.json()["sagaId"] == saga["sagaId"]
    assert "settle it by hand" in again.json()["detail"]


async def test_a_refund_whose_answer_was_lost_is_settled_by_reading_the_payment(world):
    client, fakes, _ = world
    booked = await _booked(client, fakes)
    fakes.modes["refund"] = "lost"
    saga = await wait_for(client, await _cancel(client, booked["reservationId"]))
    assert saga["status"] == "COMPLETED", saga
    assert fakes.payments[booked["paymentId"]]["status"] == "refunded"
    assert fakes.events[1]["bookedSeats"] == 0


async def test_a_refused_first_step_ends_compensated_with_nothing_done(world):
    client, fakes, _ = world
    booked = await _booked(client, fakes)
    fakes.modes["cancel_reservation"] = "refuse"
    saga = await wait_for(client, await _cancel(client, booked["reservationId"]))
    assert saga["status"] == "COMPENSATED", saga
    assert "CANCEL_RESERVATION" in saga["error"]
    assert steps_of(saga, "compensation") == []
    assert "refund" not in fakes.routes() and "release" not in fakes.routes()
    assert fakes.payments[booked["paymentId"]]["status"] == "completed"
