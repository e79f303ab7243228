"""Two orchestrators share sagas_db (`fleet start saga_orchestrator --instances 2`): bookings
are spread over both, and one is SIGKILLed while its sagas run. Every saga still ends; the
survivor takes over the dead one's sagas once their lease ran out; no saga is driven by both
at once, and nothing is booked, reserved or charged twice."""

import asyncio
import itertools
import time
from datetime import datetime
from typing import Any

import httpx

from fleetctl.fleet import BY_NAME
from tests.chaos.tools import ChaosFleet
from tests.integration.saga_orchestrator.fakes import Fakes, serve_fakes
from tests.support import isolated_fleet

LEASE_SECONDS = 3.0
RECOVERY_SECONDS = 0.5
# Slow motion, so that a saga is still running when its orchestrator is killed.
STEP_DELAY_MS = 250
SAGAS = 16
TERMINAL = {"COMPLETED", "COMPENSATED", "COMPENSATION_FAILED"}


async def _until_terminal(client: httpx.AsyncClient, url: str, saga_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        saga: dict[str, Any] = (await client.get(f"{url}/api/saga/{saga_id}", params={"wait": 5})).json()
        if saga["status"] in TERMINAL:
            return saga
        assert time.monotonic() < deadline, saga


def _overlapping(fakes: Fakes, saga_id: str) -> list[tuple[str, str]]:
    """Calls of one saga that were in progress at the same time (two drivers at once)."""
    spans = sorted((s for s in fakes.spans if saga_id in (s.key or s.path)), key=lambda s: s.start)
    return [(a.path, b.path) for a, b in itertools.pairwise(spans) if b.start < a.end]


async def test_a_killed_orchestrators_sagas_are_finished_by_the_survivor_alone():
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=1000, capacity=500)
        fleet = isolated_fleet()
        fleet.env.update(
            {
                "SAGA_LEASE_SECONDS": str(LEASE_SECONDS),
                "SAGA_RECOVERY_INTERVAL_SECONDS": str(RECOVERY_SECONDS),
                "SAGA_STEP_DELAY_MS": str(STEP_DELAY_MS),
                "SAGA_EVENT_SERVICE_URL": fakes.url,
                "SAGA_RESERVATION_SERVICE_URL": fakes.url,
                "SAGA_PAYMENT_SERVICE_URL": fakes.url,
            }
        )
        orchestrator = BY_NAME["saga_orchestrator"]
        try:
            # The fleet's calls block: off the event loop, which serves the fakes.
            await asyncio.to_thread(fleet.start, ["saga_orchestrator"], quiet=True, instances=2)
            urls = [f"http://127.0.0.1:{fleet.port(orchestrator.nth(n))}" for n in (1, 2)]
            async with httpx.AsyncClient(timeout=30) as client:
                accepted: dict[str, int] = {}
                for n in range(SAGAS):
                    body = {
                        "eventId": 1,
                        "userId": f"user-{n}",
                        "userName": "Awa Diop",
                        "userEmail": "awa@example.com",
                        "seats": 1,
                        "ticketPrice": 1000,
                        "paymentMethod": "mobile_money",
                    }
                    answer = await client.post(f"{urls[n % 2]}/api/saga/booking", json=body)
                    assert answer.status_code == 202, answer.text
                    accepted[answer.json()["sagaId"]] = n % 2 + 1

                running = [
                    s
                    for s, instance in accepted.items()
                    if instance == 2
                    and (await client.get(f"{urls[0]}/api/saga/{s}")).json()["status"] not in TERMINAL
                ]
                assert running, "the second orchestrator finished its sagas before it could be killed"
                await asyncio.to_thread(fleet.kill, "saga_orchestrator", 2)
                killed_at = time.time()

                sagas = [await _until_terminal(client, urls[0], s) for s in accepted]
        finally:
            await asyncio.to_thread(fleet.discard)

    assert [s["status"] for s in sagas] == ["COMPLETED"] * SAGAS, [(s["status"], s["error"]) for s in sagas]
    # Each step's work done once: seats, reservations and charges, whatever was replayed.
    assert fakes.events[1]["bookedSeats"] == SAGAS
    assert len(fakes.reservations) == SAGAS
    assert len(fakes.payments) == SAGAS
    assert sorted(p["idempotencyKey"] for p in fakes.payments.values()) == sorted(
        f"{s}:PROCESS_PAYMENT" for s in accepted
    )
    # Never driven by both: the calls of one saga follow each other, none overlaps another.
    assert {s: _overlapping(fakes, s) for s in accepted} == {s: [] for s in accepted}
    # The survivor resumed each of the dead one's running sagas once its lease ran out (renewed
    # at most a lease before the kill, then a recovery pass and the step's slow-motion pause):
    # its first call for the saga, or its last write when no call was left to make.
    finished = {s["sagaId"]: datetime.fromisoformat(s["updatedAt"]).timestamp() for s in sagas}
    for saga_id in running:
        after = [s.start for s in fakes.spans if saga_id in (s.key or s.path) and s.start > killed_at]
        resumed = min([*after, finished[saga_id]])
        assert resumed - killed_at < LEASE_SECONDS + RECOVERY_SECONDS + STEP_DELAY_MS / 1000 + 3, saga_id


def test_two_orchestrators_on_the_fleet_one_killed_charge_each_booking_once(chaos: ChaosFleet):
    event = chaos.create_event(capacity=300, price=1500)
    bookings = [chaos.booking(event, seats=1 + n % 2) for n in range(SAGAS)]
    with chaos.restarted_with("saga_orchestrator", {"SAGA_STEP_DELAY_MS": str(STEP_DELAY_MS)}):
        chaos.fleet.start(["saga_orchestrator"], quiet=True, instances=2)
        urls = [chaos.url("saga_orchestrator"), chaos.instance_url("saga_orchestrator", 2)]
        saga_ids = [chaos.start_saga(b, urls[n % 2]) for n, b in enumerate(bookings)]
        chaos.fleet.kill("saga_orchestrator", 2)
        sagas = chaos.wait_sagas(saga_ids)

    assert [s["status"] for s in sagas] == ["COMPLETED"] * SAGAS, [(s["status"], s["error"]) for s in sagas]
    payments = chaos.url("payment_service")
    for saga in sagas:
        by_key = chaos.http.get(
            f"{payments}/api/payments", params={"idempotencyKey": f"{saga['sagaId']}:PROCESS_PAYMENT"}
        ).json()
        by_reservation = chaos.http.get(
            f"{payments}/api/payments", params={"reservationId": saga["reservationId"]}
        ).json()
        assert [p["status"] for p in by_key["items"]] == ["completed"], saga
        assert by_reservation["items"] == by_key["items"], saga
    assert chaos.event(event["id"])["bookedSeats"] == sum(b["seats"] for b in bookings)
    chaos.assert_consistent()
