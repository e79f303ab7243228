"""SAGA4: compensations run in reverse order of the completed steps, each keyed
<sagaId>:<COMPENSATION>; a first step refused has nothing to undo; a compensation that keeps
failing ends the saga COMPENSATION_FAILED, visible in the list, never silently done.

The first test asks the domain's plan itself, so it needs no other exercise; the others run
whole sagas (SAGA1 starts them, SAGA2 and SAGA3 are their steps)."""

from saga_orchestrator.app import create_app
from saga_orchestrator.domain import Compensation, Kind, Step, StepRecord, StepStatus, compensation_plan
from tests.integration.saga_orchestrator.fakes import serve_fakes
from tests.integration.saga_orchestrator.helpers import (
    booking,
    outbox,
    saga_settings,
    start,
    steps_of,
    wait_for,
)
from tests.support import running

OK, FAILED, STARTED = StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.STARTED
CANCEL, RELEASE, REFUND = Compensation.CANCEL_RESERVATION, Compensation.RELEASE_SEATS, Compensation.REFUND


def step(name: Step, status: StepStatus, **fields: bool) -> StepRecord:
    return StepRecord(name=name, kind=Kind.STEP, status=status, **fields)


def test_the_plan_undoes_what_may_have_acted_in_reverse_order():
    seats, reservation, payment = (
        step(Step.RESERVE_SEATS, OK),
        step(Step.CREATE_RESERVATION, OK),
        step(Step.PROCESS_PAYMENT, OK),
    )
    assert compensation_plan([step(Step.RESERVE_SEATS, FAILED)]) == []
    assert compensation_plan([seats, reservation, step(Step.PROCESS_PAYMENT, FAILED)]) == [CANCEL, RELEASE]
    refused = step(Step.CONFIRM_RESERVATION, FAILED)
    assert compensation_plan([seats, reservation, payment, refused]) == [REFUND, CANCEL, RELEASE]
    # A payment without an answer may have been made; an interrupted step may have acted.
    unknown = step(Step.PROCESS_PAYMENT, FAILED, uncertain=True)
    assert compensation_plan([seats, reservation, unknown]) == [REFUND, CANCEL, RELEASE]
    assert compensation_plan([seats, step(Step.CREATE_RESERVATION, STARTED)]) == [CANCEL, RELEASE]
    # A compensation already done is not run again.
    cancelled = StepRecord(name=CANCEL, kind=Kind.COMPENSATION, status=OK)
    assert compensation_plan([seats, reservation, payment, refused, cancelled]) == [REFUND, RELEASE]


async def test_a_declined_payment_cancels_the_reservation_then_releases_the_seats():
    async with serve_fakes() as fakes:
        fakes.add_event(5, price=900_000, capacity=10)
        settings = saga_settings(fakes.url)
        async with running(create_app(settings)) as client:
            saga_id = await start(client, booking(5, seats=2, ticketPrice=900_000))
            saga = await wait_for(client, saga_id)
            assert saga["status"] == "COMPENSATED"
            assert steps_of(saga, "compensation") == ["CANCEL_RESERVATION", "RELEASE_SEATS"]
            assert fakes.routes(keyed_only=True) == [
                "book",
                "create_reservation",
                "pay",
                "cancel_reservation",
                "release",
            ]
            assert [c.key for c in fakes.calls if c.route in ("cancel_reservation", "release")] == [
                f"{saga_id}:CANCEL_RESERVATION",
                f"{saga_id}:RELEASE_SEATS",
            ]
            assert fakes.events[5]["bookedSeats"] == 0
            assert fakes.reservations[saga["reservationId"]]["status"] == "cancelled"
            messages = outbox(settings.database_url)
            assert [m["type"] for m in messages] == ["booking.compensated"]
            assert messages[0]["data"]["status"] == "COMPENSATED"
            assert "declined" in messages[0]["data"]["reason"]


async def test_a_refused_confirmation_refunds_cancels_and_releases_in_reverse_order():
    async with serve_fakes() as fakes:
        fakes.add_event(5, price=1000, capacity=10)
        fakes.modes["confirm"] = "refuse"
        async with running(create_app(saga_settings(fakes.url))) as client:
            saga = await wait_for(client, await start(client, booking(5, seats=1, ticketPrice=1000)))
            assert saga["status"] == "COMPENSATED"
            assert steps_of(saga, "compensation") == ["REFUND", "CANCEL_RESERVATION", "RELEASE_SEATS"]
            assert fakes.payments[saga["paymentId"]]["status"] == "refunded"
            assert fakes.events[5]["bookedSeats"] == 0


async def test_a_first_step_refused_has_nothing_to_undo():
    async with serve_fakes() as fakes:
        fakes.add_event(5, price=1000, capacity=1)
        async with running(create_app(saga_settings(fakes.url))) as client:
            saga = await wait_for(client, await start(client, booking(5, seats=2, ticketPrice=1000)))
            assert saga["status"] == "COMPENSATED"
            assert steps_of(saga, "compensation") == []
            assert "Not enough availability" in saga["error"]
            assert fakes.routes(keyed_only=True) == ["book"]


async def test_a_compensation_that_keeps_failing_ends_compensation_failed_and_is_listed():
    async with serve_fakes() as fakes:
        fakes.add_event(5, price=900_000, capacity=10)
        fakes.modes["release"] = "error"
        settings = saga_settings(fakes.url)
        async with running(create_app(settings)) as client:
            saga_id = await start(client, booking(5, seats=2, ticketPrice=900_000))
            saga = await wait_for(client, saga_id)
            assert saga["status"] == "COMPENSATION_FAILED"
            release = next(s for s in saga["steps"] if s["name"] == "RELEASE_SEATS")
            assert release["status"] == "failed" and release["attempts"] == settings.compensation_attempts
            assert "RELEASE_SEATS kept failing" in saga["error"]
            listed = (await client.get("/api/saga", params={"status": "COMPENSATION_FAILED"})).json()
            assert [s["sagaId"] for s in listed["items"]] == [saga_id]
            assert all(m["type"] != "booking.compensated" for m in outbox(settings.database_url))
