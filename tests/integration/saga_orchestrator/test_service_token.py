"""No work without the means to do it (docs/security.md): an orchestrator without a service
token does not start; a participant refusing its token (401) is a configuration fault, so the
saga waits, visibly, and goes on once the tokens agree, never compensating because of it; and
an operator resumes a COMPENSATION_FAILED saga once its cause is fixed."""

import asyncio
import os
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from reservation_service.app import create_app as create_reservation_app
from reservation_service.settings import ReservationSettings
from saga_orchestrator.app import create_app
from shared.settings import MissingServiceToken
from tests.integration.saga_orchestrator.fakes import serve_fakes
from tests.integration.saga_orchestrator.helpers import booking, saga_settings, start, steps_of, wait_for
from tests.support import running

WAITING = "refused our service token — configuration fault, retrying"
# The refusing participant is asked again soon: the tests need not wait 15 s for the fix.
QUICK = {"token_retry_seconds": 0.1, "token_retry_max_seconds": 0.4}


def test_an_orchestrator_started_without_a_token_does_not_start():
    env = {k: v for k, v in os.environ.items() if k not in ("SERVICE_TOKEN", "SAGA_SERVICE_TOKEN")}
    env.update(SAGA_PORT="1", JSON_LOGS="false")  # never bound: it must stop before serving
    run = subprocess.run(
        [sys.executable, "-m", "saga_orchestrator"], env=env, capture_output=True, text=True, timeout=60
    )
    said = run.stdout + run.stderr
    assert run.returncode == 2, said
    lines = [line for line in said.splitlines() if "SERVICE_TOKEN" in line]
    assert len(lines) == 1, said  # one line, not a traceback
    for hint in ("refuses to start", ".data/tokens.env", "fleet start", "fleet restart"):
        assert hint in lines[0], lines[0]
    assert "Traceback" not in said


@pytest.mark.parametrize(
    "make",
    [
        lambda: create_app(saga_settings("http://127.0.0.1:9", service_token=None)),
        lambda: create_reservation_app(ReservationSettings(service_token=None)),
    ],
    ids=["saga_orchestrator", "reservation_service"],
)
def test_a_service_making_internal_calls_refuses_to_be_built_without_a_token(make: Any):
    with pytest.raises(MissingServiceToken, match="SERVICE_TOKEN is not set"):
        make()


async def _step(client: httpx.AsyncClient, saga_id: str, name: str, timeout: float = 10) -> dict[str, Any]:
    """The step `name` once its error says it waits for the tokens to agree."""
    deadline = time.monotonic() + timeout
    while True:
        saga: dict[str, Any] = (await client.get(f"/api/saga/{saga_id}")).json()
        found = next((s for s in saga["steps"] if s["name"] == name), None)
        if found is not None and WAITING in (found.get("error") or ""):
            return {**found, "saga": saga}
        assert time.monotonic() < deadline, saga
        await asyncio.sleep(0.05)


async def test_a_participant_refusing_the_token_makes_the_saga_wait_then_complete():
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=1000, capacity=10)
        fakes.modes["pay"] = "unauthorized"
        settings = saga_settings(fakes.url, **QUICK)
        async with running(create_app(settings)) as client:
            saga_id = await start(client, booking(1, seats=2, ticketPrice=1000))
            waiting = await _step(client, saga_id, "PROCESS_PAYMENT")
            assert waiting["status"] == "started", waiting  # neither failed nor compensated
            assert waiting["error"].startswith("PROCESS_PAYMENT: 401 refused our service token"), waiting
            assert waiting["saga"]["status"] == "RUNNING"
            # Several passes go by (the fake is asked again and again): none is counted,
            # nothing is compensated.
            await asyncio.sleep(1.0)
            assert steps_of((await client.get(f"/api/saga/{saga_id}")).json(), "compensation") == []
            # Not ready, saying why, and no new saga taken.
            ready = await client.get("/ready")
            assert ready.status_code == 503, ready.text
            assert "refused" in ready.json()["checks"]["service-token"], ready.text
            assert "fleet restart" in ready.json()["checks"]["service-token"], ready.text
            refused = await client.post("/api/saga/booking", json=booking(1, seats=1, ticketPrice=1000))
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert "takes no saga" in refused.json()["detail"]

            fakes.modes.pop("pay")  # the tokens agree again (the participant restarted right)
            saga = await wait_for(client, saga_id, timeout=15)
            assert saga["status"] == "COMPLETED", saga
            assert steps_of(saga, "compensation") == []
            payment = next(s for s in saga["steps"] if s["name"] == "PROCESS_PAYMENT")
            assert payment["error"] is None and payment["attempts"] == 1, payment
            assert (await client.get("/ready")).status_code == 200
        assert fakes.events[1]["bookedSeats"] == 2
        assert len(fakes.payments) == 1
        assert not {"release", "cancel_reservation", "refund"} & set(fakes.routes())


async def test_a_compensation_refused_for_the_token_waits_instead_of_failing():
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=1000, capacity=10)
        fakes.modes.update({"pay": "refuse", "release": "unauthorized"})
        # Three passes only: the wait outlasts them, and must not be counted as failed passes.
        settings = saga_settings(fakes.url, compensation_attempts=3, **QUICK)
        async with running(create_app(settings)) as client:
            saga_id = await start(client, booking(1, seats=2, ticketPrice=1000))
            waiting = await _step(client, saga_id, "RELEASE_SEATS")
            assert waiting["kind"] == "compensation" and waiting["status"] == "started", waiting
            await asyncio.sleep(1.5)
            assert (await client.get(f"/api/saga/{saga_id}")).json()["status"] == "COMPENSATING"
            fakes.modes.pop("release")
            saga = await wait_for(client, saga_id, timeout=15)
        assert saga["status"] == "COMPENSATED", saga
        assert fakes.events[1]["bookedSeats"] == 0


async def test_an_operator_resumes_a_compensation_failed_saga_once_its_cause_is_fixed():
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=1000, capacity=10)
        fakes.modes.update({"pay": "refuse", "release": "error"})
        settings = saga_settings(fakes.url, **QUICK)
        async with running(create_app(settings)) as client:
            saga_id = await start(client, booking(1, seats=2, ticketPrice=1000))
            failed = await wait_for(client, saga_id)
            assert failed["status"] == "COMPENSATION_FAILED", failed
            assert fakes.events[1]["bookedSeats"] == 2  # the seats leaked

            async with httpx.AsyncClient(transport=client._transport, base_url="http://test") as stranger:
                refused = await stranger.post(f"/api/saga/{saga_id}/resume")
            assert refused.status_code == 401, refused.text

            fakes.modes.pop("release")  # the event service is back
            resumed = await client.post(f"/api/saga/{saga_id}/resume")
            assert resumed.status_code == 202, resumed.text
            assert resumed.json()["status"] == "COMPENSATING"
            assert resumed.headers["Location"] == f"/api/saga/{saga_id}"
            saga = await wait_for(client, saga_id)
            assert saga["status"] == "COMPENSATED", saga
            assert "kept failing" not in (saga["error"] or ""), saga
            assert fakes.events[1]["bookedSeats"] == 0
            # One release only took effect, under its key (the failed passes did nothing).
            assert [c.key for c in fakes.calls if c.route == "release"][-1] == f"{saga_id}:RELEASE_SEATS"

            again = await client.post(f"/api/saga/{saga_id}/resume")
            assert again.status_code == 409, again.text
            assert again.headers["content-type"] == "application/problem+json"
            assert "COMPENSATED, not COMPENSATION_FAILED" in again.json()["detail"]
            unknown = await client.post("/api/saga/00000000-0000-0000-0000-000000000000/resume")
            assert unknown.status_code == 404, unknown.text
