"""A participant paused (SIGSTOP: slow, not dead) while three sagas wait on it, and resumed
only after the orchestrator gave up on the call. The kernel kept accepting the calls while
the process was stopped, so once resumed it serves every one of them, late: each saga still
ends COMPENSATED, and those late calls change nothing. No completed payment, no live
reservation and no booked seat is left for a compensated saga, and `fleet check` agrees.
"""

from typing import Any

import pytest

from tests.chaos.tools import ChaosFleet, wait_until

# The orchestrator gives up on a call after 1 + HTTP_RETRIES attempts of HTTP_TIMEOUT_SECONDS
# each: shortened so the scenario takes seconds instead of a minute. The rest of the fleet
# keeps its own settings.
GIVE_UP_SOON = {"HTTP_TIMEOUT_SECONDS": "2", "HTTP_RETRIES": "1", "SAGA_HTTP_BACKOFF_SECONDS": "0.1"}
ATTEMPTS_PER_CALL = 2
SAGAS = 3

# step -> the participant that runs it, and the route of its call
STEPS = {
    "PROCESS_PAYMENT": ("payment_service", "POST", "/api/payments"),
    "CREATE_RESERVATION": ("reservation_service", "POST", "/api/reservations"),
}


def _step(saga: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((s for s in saga["steps"] if s["name"] == name and s["kind"] == "step"), None)


def _gave_up(saga: dict[str, Any], step: str) -> bool:
    record = _step(saga, step)
    return record is not None and record["status"] == "failed"


@pytest.mark.parametrize("step", list(STEPS))
def test_a_call_served_after_the_saga_gave_up_on_it_changes_nothing(chaos: ChaosFleet, step: str):
    package, method, route = STEPS[step]
    event = chaos.create_event(capacity=60, price=1500)
    bookings = [chaos.booking(event, seats=2) for _ in range(SAGAS)]

    with chaos.restarted_with("saga_orchestrator", GIVE_UP_SOON):
        served_before = chaos.served(package, method, route)
        with chaos.paused(package):
            saga_ids = chaos.start_sagas(bookings)
            wait_until(
                lambda: all(_gave_up(chaos.saga(s), step) for s in saga_ids),
                90,
                f"the orchestrator to give up on {step} of every saga",
                every=0.5,
            )
        # Resumed: the participant now serves every call it had buffered, the step's own
        # attempts included, after the orchestrator stopped waiting for their answers.
        late = ATTEMPTS_PER_CALL * SAGAS
        wait_until(
            lambda: chaos.served(package, method, route) - served_before >= late,
            60,
            f"{package} to serve the {late} late {step} calls",
        )
        sagas = chaos.wait_sagas(saga_ids, seconds=180)

    assert [s["status"] for s in sagas] == ["COMPENSATED"] * SAGAS, [(s["status"], s["error"]) for s in sagas]
    for saga in sagas:
        payments = chaos.http.get(
            f"{chaos.url('payment_service')}/api/payments",
            params={"idempotencyKey": f"{saga['sagaId']}:PROCESS_PAYMENT"},
        ).raise_for_status()
        assert [p for p in payments.json()["items"] if p["status"] == "completed"] == [], saga
    reservations = chaos.http.get(
        f"{chaos.url('reservation_service')}/api/reservations", params={"eventId": event["id"], "size": 100}
    ).raise_for_status()
    live = [r for r in reservations.json()["items"] if r["status"] in ("pending", "confirmed")]
    assert live == []
    assert chaos.event(event["id"])["bookedSeats"] == 0
    chaos.assert_consistent()
