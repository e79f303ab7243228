"""A participant paused (SIGSTOP: slow, not dead) while three sagas wait on it, and resumed
only after the orchestrator gave up on the call. The kernel kept accepting the calls while
the process was stopped, so once resumed it serves every one of them, late: each saga still
ends COMPENSATED, and those late calls change nothing. No completed payment, no live
reservation and no booked seat is left for a compensated saga, and `fleet check` agrees.
"""

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
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
    "RESERVE_SEATS": ("event_service", "POST", "/api/events/{event_id}/book"),
}


@contextlib.contextmanager
def _event_row_locked(chaos: ChaosFleet, event_id: int) -> Iterator[Callable[[], int]]:
    """The event's row locked in the event service's database for the `with` body: its
    bookings wait at their UPDATE, inside the service, while reads go on. Yields how many
    of the service's statements wait for the lock."""
    url = chaos.fleet.env["EVENT_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as holder, psycopg.connect(url, autocommit=True) as observer:
        holder.execute("SELECT id FROM events WHERE id = %s FOR UPDATE", (event_id,))

        def waiting() -> int:
            row = observer.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            ).fetchone()
            return int(row[0]) if row else 0

        try:
            yield waiting
        finally:
            holder.rollback()


def _start_with_the_participant_paused(
    chaos: ChaosFleet, step: str, bookings: list[dict[str, Any]], paused: contextlib.ExitStack
) -> list[str]:
    package = STEPS[step][0]
    if step != "RESERVE_SEATS":
        paused.enter_context(chaos.paused(package))
        return chaos.start_sagas(bookings)
    # A saga's start reads the event's price from the event service, so that one is paused
    # only once the bookings are inside it: held at the event's row lock, which is released
    # while the service is stopped.
    with _event_row_locked(chaos, bookings[0]["eventId"]) as waiting:
        saga_ids = chaos.start_sagas(bookings)
        wait_until(lambda: waiting() >= len(bookings), 30, "the bookings to wait inside the event service")
        paused.enter_context(chaos.paused(package))
    return saga_ids


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
        with contextlib.ExitStack() as paused:
            saga_ids = _start_with_the_participant_paused(chaos, step, bookings, paused)
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
