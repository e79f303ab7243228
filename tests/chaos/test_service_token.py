"""Issue 24 on a whole fleet: a second orchestrator started by hand without the fleet's token
(docs/saga.md's `SAGA_PORT=3012 python -m saga_orchestrator`, typed in a shell that has not
read .data/tokens.env) does not start; with a wrong token it starts but takes no work; the
first one SIGKILLed while bookings are in flight leaves no saga COMPENSATION_FAILED and no seat
leaked. And a COMPENSATION_FAILED saga, resumed by an operator once its cause is fixed
(`fleet resume`), ends COMPENSATED with `fleet check` clean."""

import os
import subprocess
import sys
import time

from fleetctl.fleet import BY_NAME
from tests.chaos.tools import ChaosFleet, wait_until
from tests.support import ROOT

ORCHESTRATOR = BY_NAME["saga_orchestrator"]
SAGAS = 20
# Slow motion, so that sagas are still running when the first orchestrator is killed: four
# steps of a second outlast the twenty bookings' requests even on a saturated machine (at a
# quarter of a second, every saga had ended under the parallel phase's load).
STEP_DELAY_MS = 1000


def _second(chaos: ChaosFleet, token: str) -> None:
    """The orchestrator's second instance started as by hand, with this SERVICE_TOKEN."""
    saved = dict(chaos.fleet.env)
    chaos.fleet.env["SERVICE_TOKEN"] = token
    try:
        chaos.fleet.start(["saga_orchestrator"], quiet=True, instances=2, wait=0)
    finally:
        chaos.fleet.env.clear()
        chaos.fleet.env.update(saved)


def test_a_second_orchestrator_without_the_token_takes_no_work_and_the_first_ones_crash_leaks_nothing(
    chaos: ChaosFleet,
):
    event = chaos.create_event(capacity=400, price=1500)
    second = ORCHESTRATOR.nth(2)
    with chaos.restarted_with("saga_orchestrator", {"SAGA_STEP_DELAY_MS": str(STEP_DELAY_MS)}):
        # No token at all: it does not start, and says why in one line.
        _second(chaos, "")
        wait_until(lambda: chaos.fleet.pid(second) is None, 30, "the tokenless orchestrator to exit")
        log = (chaos.fleet.log_dir / f"{second.name}.log").read_text()
        assert "SERVICE_TOKEN is not set" in log and "fleet restart" in log, log[-2000:]

        # A wrong token: it starts, finds out from its peers at once, and is not ready.
        _second(chaos, "not-the-fleets-token")
        url2 = chaos.instance_url("saga_orchestrator", 2)

        def refused() -> bool:
            try:
                answer = chaos.http.get(f"{url2}/ready", timeout=5)
            except Exception:
                return False
            return answer.status_code == 503 and "refused" in answer.json()["checks"]["service-token"]

        wait_until(refused, 60, "the wrong-token orchestrator to say it is refused")

        urls = [chaos.url("saga_orchestrator"), url2]
        bookings = [chaos.booking(event, seats=1 + n % 2) for n in range(SAGAS)]
        saga_ids = []
        for n, booking in enumerate(bookings):
            answer = chaos.http.post(f"{urls[n % 2]}/api/saga/booking", json=booking)
            if n % 2:
                # It takes no saga (it could only wait): 503, and the client goes to the other.
                assert answer.status_code == 503, answer.text
                assert answer.headers["content-type"] == "application/problem+json"
                answer = chaos.http.post(f"{urls[0]}/api/saga/booking", json=booking)
            assert answer.status_code == 202, answer.text
            saga_ids.append(answer.json()["sagaId"])
        time.sleep(0.4)
        # Newest first: the last booking is the likeliest to be still running.
        running = any(chaos.saga(s)["status"] not in ("COMPLETED", "COMPENSATED") for s in reversed(saga_ids))
        assert running, "every saga ended before the first orchestrator could be killed"
        chaos.fleet.kill("saga_orchestrator", 1)

        # Their leases run out (3 s): the wrong-token orchestrator claims none of them, so
        # none is driven to a compensation it could not make.
        time.sleep(6)
        statuses = {s: chaos.http.get(f"{url2}/api/saga/{s}").json()["status"] for s in saga_ids}
        assert "COMPENSATION_FAILED" not in statuses.values(), statuses
        assert "COMPENSATED" not in statuses.values(), statuses

        # The first one back (as `fleet start` does): it finishes every saga.
        chaos.fleet.start(["saga_orchestrator"], quiet=True)
        sagas = chaos.wait_sagas(saga_ids)
        chaos.fleet.kill("saga_orchestrator", 2)

    assert [s["status"] for s in sagas] == ["COMPLETED"] * SAGAS, [(s["status"], s["error"]) for s in sagas]
    assert chaos.event(event["id"])["bookedSeats"] == sum(b["seats"] for b in bookings)
    chaos.assert_consistent()


def test_a_compensation_failed_saga_resumed_after_the_fix_ends_compensated_and_the_fleet_agrees(
    chaos: ChaosFleet,
):
    # Declined (the simulated provider declines above 1,000,000): the saga compensates.
    event = chaos.create_event(capacity=10, price=600_000)
    settings = {
        "SAGA_STEP_DELAY_MS": "1200",
        "SAGA_COMPENSATION_ATTEMPTS": "2",
        "SAGA_COMPENSATION_RETRY_SECONDS": "0.2",
    }
    with chaos.restarted_with("saga_orchestrator", settings):
        saga_id = chaos.start_saga(chaos.booking(event, seats=2))
        wait_until(lambda: chaos.saga(saga_id)["status"] == "COMPENSATING", 30, "the saga to compensate")
        # The event service goes away before RELEASE_SEATS: the seats cannot be given back.
        chaos.fleet.stop(["event_service"])
        try:
            wait_until(lambda: chaos.saga(saga_id)["status"] == "COMPENSATION_FAILED", 60, "it to give up")
        finally:
            chaos.fleet.start(["event_service"], quiet=True)
        assert chaos.event(event["id"])["bookedSeats"] == 2  # leaked, until someone resumes it

        env = {
            **os.environ,
            "SAGA_URL": chaos.url("saga_orchestrator"),
            "OPERATOR_TOKEN": chaos.fleet.env["OPERATOR_TOKEN"],
        }
        resumed = subprocess.run(
            [sys.executable, "-m", "fleetctl.fleet", "resume", saga_id],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert f"{saga_id}: resumed, now COMPENSATED" in resumed.stdout, resumed.stdout

        saga = chaos.saga(saga_id)
        assert saga["status"] == "COMPENSATED", saga
        assert chaos.event(event["id"])["bookedSeats"] == 0
        again = subprocess.run(
            [sys.executable, "-m", "fleetctl.fleet", "resume", saga_id],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert again.returncode == 1 and "409" in again.stdout, again.stdout + again.stderr
    chaos.assert_consistent()
