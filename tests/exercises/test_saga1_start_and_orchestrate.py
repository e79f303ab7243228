"""SAGA1: a booking saga starts at once (202 + Location) and the orchestrator drives it
through every step to COMPLETED in the background; the event's price is the truth and a
start retried with the same Idempotency-Key is the same saga."""

import asyncio
from decimal import Decimal

from saga_orchestrator.app import create_app
from tests.integration.saga_orchestrator.fakes import serve_fakes
from tests.integration.saga_orchestrator.helpers import (
    booking,
    outbox,
    saga_settings,
    steps_of,
    wait_for,
)
from tests.support import running


async def test_a_booking_is_accepted_at_once_and_runs_to_completed():
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=5000, capacity=10)
        settings = saga_settings(fakes.url)
        async with running(create_app(settings)) as client:
            answer = await client.post("/api/saga/booking", json=booking(1, seats=3, ticketPrice=5000))
            assert answer.status_code == 202
            body = answer.json()
            assert body["status"] == "STARTED"
            assert answer.headers["Location"] == f"/api/saga/{body['sagaId']}"

            saga = await wait_for(client, body["sagaId"])
            assert saga["status"] == "COMPLETED", saga
            assert steps_of(saga, "step") == [
                "RESERVE_SEATS",
                "CREATE_RESERVATION",
                "PROCESS_PAYMENT",
                "CONFIRM_RESERVATION",
            ]
            assert all(s["status"] == "succeeded" and s["finishedAt"] for s in saga["steps"])
            assert steps_of(saga, "compensation") == []
            assert Decimal(saga["amount"]) == 15000 and saga["currency"] == "XOF"
            assert fakes.events[1]["bookedSeats"] == 3
            assert fakes.reservations[saga["reservationId"]]["status"] == "confirmed"
            assert fakes.payments[saga["paymentId"]]["status"] == "completed"
            # every participant call is keyed <sagaId>:<STEP>
            keyed = [k for k in fakes.keys() if k]
            assert keyed == [f"{saga['sagaId']}:{s}" for s in steps_of(saga, "step")]
            confirmed = [m for m in outbox(settings.database_url) if m["type"] == "booking.confirmed"]
            assert [m["data"]["sagaId"] for m in confirmed] == [saga["sagaId"]]
            assert confirmed[0]["aggregateType"] == "SAGA"
            assert confirmed[0]["data"]["reservationId"] == saga["reservationId"]


async def test_a_price_other_than_the_events_is_refused_before_anything_is_booked():
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=5000)
        async with running(create_app(saga_settings(fakes.url))) as client:
            answer = await client.post("/api/saga/booking", json=booking(1, ticketPrice=1))
            assert answer.status_code == 409
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert Decimal(answer.json()["eventTicketPrice"]) == 5000
            assert fakes.routes() == ["get_event"]
            assert (await client.get("/api/saga")).json()["total"] == 0


async def test_an_unknown_event_starts_no_saga_and_an_unreachable_event_service_is_503():
    async with serve_fakes() as fakes:
        async with running(create_app(saga_settings(fakes.url))) as client:
            assert (await client.post("/api/saga/booking", json=booking(404))).status_code == 404
            fakes.modes["get_event"] = "error"
            assert (await client.post("/api/saga/booking", json=booking(1))).status_code == 503
            assert (await client.get("/api/saga")).json()["total"] == 0


async def test_a_start_retried_with_the_same_key_is_the_same_saga():
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=5000, capacity=10)
        async with running(create_app(saga_settings(fakes.url))) as client:
            headers = {"Idempotency-Key": "booking-42"}
            first, *twins = await asyncio.gather(
                *[client.post("/api/saga/booking", json=booking(1), headers=headers) for _ in range(5)]
            )
            ids = {a.json()["sagaId"] for a in (first, *twins)}
            assert len(ids) == 1 and all(a.status_code == 202 for a in (first, *twins))
            saga = await wait_for(client, ids.pop())
            assert saga["status"] == "COMPLETED"
            again = await client.post("/api/saga/booking", json=booking(1), headers=headers)
            assert again.json() == {"sagaId": saga["sagaId"], "status": "COMPLETED"}
            other = await client.post("/api/saga/booking", json=booking(1, seats=1), headers=headers)
            assert other.status_code == 422
            assert fakes.events[1]["bookedSeats"] == 2
            assert (await client.get("/api/saga")).json()["total"] == 1
