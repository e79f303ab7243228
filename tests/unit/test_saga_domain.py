"""The booking saga's pure rules: transitions, next step, compensation plan (SAGA1-SAGA4)."""

from decimal import Decimal

import pytest

from saga_orchestrator.domain import (
    Action,
    Compensation,
    IllegalSagaTransition,
    Kind,
    PriceMismatch,
    SagaStatus,
    Step,
    StepRecord,
    StepStatus,
    booking_amount,
    check_price,
    compensation_plan,
    decide,
    next_step,
    transition,
)

OK, FAILED, STARTED = StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.STARTED


def step(name: Step, status: StepStatus, **kw) -> StepRecord:
    return StepRecord(name=name, kind=Kind.STEP, status=status, **kw)


def comp(name: Compensation, status: StepStatus, attempts: int = 1) -> StepRecord:
    return StepRecord(name=name, kind=Kind.COMPENSATION, status=status, attempts=attempts)


def test_a_new_saga_starts_by_reserving_seats():
    assert decide(SagaStatus.STARTED, [], max_compensation_attempts=3) == Action(
        "run_step", Step.RESERVE_SEATS
    )


def test_steps_run_in_order_and_then_the_saga_completes():
    log = [step(Step.RESERVE_SEATS, OK), step(Step.CREATE_RESERVATION, OK)]
    assert next_step(log) == Step.PROCESS_PAYMENT
    log += [step(Step.PROCESS_PAYMENT, OK), step(Step.CONFIRM_RESERVATION, OK)]
    assert next_step(log) is None
    assert decide(SagaStatus.RUNNING, log, max_compensation_attempts=3) == Action("complete")


def test_a_step_interrupted_by_a_crash_runs_again():
    log = [step(Step.RESERVE_SEATS, OK), step(Step.CREATE_RESERVATION, STARTED)]
    assert decide(SagaStatus.RUNNING, log, max_compensation_attempts=3) == Action(
        "run_step", Step.CREATE_RESERVATION
    )


def test_a_failed_step_turns_the_saga_to_compensation():
    log = [step(Step.RESERVE_SEATS, OK), step(Step.CREATE_RESERVATION, FAILED)]
    assert decide(SagaStatus.RUNNING, log, max_compensation_attempts=3) == Action("begin_compensation")


def test_a_declined_payment_cancels_the_reservation_then_releases_the_seats():
    log = [
        step(Step.RESERVE_SEATS, OK),
        step(Step.CREATE_RESERVATION, OK),
        step(Step.PROCESS_PAYMENT, FAILED),
    ]
    assert compensation_plan(log) == [Compensation.CANCEL_RESERVATION, Compensation.RELEASE_SEATS]


def test_a_refused_confirmation_refunds_cancels_and_releases_in_reverse_order():
    log = [
        step(Step.RESERVE_SEATS, OK),
        step(Step.CREATE_RESERVATION, OK),
        step(Step.PROCESS_PAYMENT, OK),
        step(Step.CONFIRM_RESERVATION, FAILED),
    ]
    assert compensation_plan(log) == [
        Compensation.REFUND,
        Compensation.CANCEL_RESERVATION,
        Compensation.RELEASE_SEATS,
    ]


def test_a_payment_without_an_answer_is_refunded_if_it_happened():
    log = [
        step(Step.RESERVE_SEATS, OK),
        step(Step.CREATE_RESERVATION, OK),
        step(Step.PROCESS_PAYMENT, FAILED, uncertain=True),
    ]
    assert compensation_plan(log)[0] == Compensation.REFUND


def test_compensations_already_done_are_not_repeated():
    log = [
        step(Step.RESERVE_SEATS, OK),
        step(Step.CREATE_RESERVATION, OK),
        step(Step.PROCESS_PAYMENT, FAILED),
        comp(Compensation.CANCEL_RESERVATION, OK),
    ]
    assert decide(SagaStatus.COMPENSATING, log, max_compensation_attempts=3) == Action(
        "run_compensation", Compensation.RELEASE_SEATS
    )


def test_a_refused_first_step_has_nothing_to_undo():
    log = [step(Step.RESERVE_SEATS, FAILED)]
    assert compensation_plan(log) == []
    assert decide(SagaStatus.COMPENSATING, log, max_compensation_attempts=3) == Action("compensated")


def test_a_compensation_that_keeps_failing_ends_the_saga_compensation_failed():
    log = [step(Step.RESERVE_SEATS, OK), step(Step.CREATE_RESERVATION, FAILED)]
    retry = [*log, comp(Compensation.RELEASE_SEATS, FAILED, attempts=2)]
    assert decide(SagaStatus.COMPENSATING, retry, max_compensation_attempts=3).kind == "run_compensation"
    stuck = [*log, comp(Compensation.RELEASE_SEATS, FAILED, attempts=3)]
    assert decide(SagaStatus.COMPENSATING, stuck, max_compensation_attempts=3) == Action(
        "compensation_failed", Compensation.RELEASE_SEATS
    )


@pytest.mark.parametrize(
    "status", [SagaStatus.COMPLETED, SagaStatus.COMPENSATED, SagaStatus.COMPENSATION_FAILED]
)
def test_terminal_sagas_do_nothing_and_never_move(status):
    assert decide(status, [], max_compensation_attempts=3) == Action("done")
    with pytest.raises(IllegalSagaTransition):
        transition(status, SagaStatus.RUNNING)


def test_a_completed_saga_cannot_be_compensated():
    with pytest.raises(IllegalSagaTransition):
        transition(SagaStatus.COMPLETED, SagaStatus.COMPENSATING)
    assert transition(SagaStatus.RUNNING, SagaStatus.COMPENSATING) == SagaStatus.COMPENSATING


def test_the_events_price_is_the_truth():
    check_price(Decimal("5000"), Decimal("5000.00"))
    with pytest.raises(PriceMismatch):
        check_price(Decimal("1"), Decimal("5000"))


def test_the_amount_is_seats_times_the_events_price():
    assert booking_amount(3, Decimal("2500.50"), "EUR") == Decimal("7501.50")
    assert booking_amount(3, Decimal("15000"), "XOF") == Decimal("45000")


def test_a_saga_row_becomes_a_typed_record_and_learns_what_a_step_taught_it():
    import uuid

    from saga_orchestrator.domain import ActionKind, Saga

    row = {
        "id": uuid.uuid4(),
        "status": "RUNNING",
        "request": {"userId": "user-1"},
        "event_id": 3,
        "seats": 2,
        "amount": "10000.00",
        "currency": "XOF",
        "lease_until": None,  # not part of the record
    }
    saga = Saga.of(row)
    assert saga.status is SagaStatus.RUNNING and saga.amount == Decimal("10000.00")
    assert saga.user_id == "user-1" and saga.reservation_id is None
    learnt = saga.learnt({"reservation_id": "r1"})
    assert learnt.reservation_id == "r1" and saga.reservation_id is None
    assert decide(SagaStatus.RUNNING, [], max_compensation_attempts=3).kind is ActionKind.RUN_STEP


def test_the_event_date_is_the_boundary_of_a_booking():
    from datetime import UTC, datetime, timedelta

    from saga_orchestrator.domain import EventStarted, check_not_started

    now = datetime(2030, 1, 1, 20, tzinfo=UTC)
    check_not_started(1, now + timedelta(seconds=1), now, "booked")
    with pytest.raises(EventStarted) as refused:
        check_not_started(1, now, now, "booked")
    assert refused.value.status == 409 and refused.value.errors[0]["field"] == "eventDate"
    assert refused.value.extra["eventDate"] == "2030-01-01T20:00:00Z"
