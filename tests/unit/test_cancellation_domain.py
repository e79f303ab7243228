"""The cancellation saga's pure rules: the next action from the step log (forward retries of
an unanswered step, REINSTATE_RESERVATION only while no money went back, COMPENSATION_FAILED
past the point of no return), and who may cancel until when (the clock is an argument)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from saga_orchestrator.domain import (
    ActionKind,
    Booked,
    CancelCompensation,
    CancelStep,
    EventStarted,
    Kind,
    NotCancellable,
    NotYourReservation,
    SagaStatus,
    SagaType,
    StepRecord,
    StepStatus,
    cancellation_failure,
    check_cancellation,
    decide,
)

OK, FAILED = StepStatus.SUCCEEDED, StepStatus.FAILED
NOW = datetime(2030, 6, 1, 18, tzinfo=UTC)


def step(name: CancelStep, status: StepStatus, **kw) -> StepRecord:
    return StepRecord(name=name, kind=Kind.STEP, status=status, **kw)


def next_of(status: SagaStatus, log: list[StepRecord]):
    return decide(status, log, max_compensation_attempts=3, saga_type=SagaType.CANCELLATION)


def test_the_steps_run_in_order_then_the_saga_completes():
    log: list[StepRecord] = []
    for expected in CancelStep:
        action = next_of(SagaStatus.RUNNING, log)
        assert (action.kind, action.name) == (ActionKind.RUN_STEP, expected)
        log.append(step(expected, OK))
    assert next_of(SagaStatus.RUNNING, log).kind is ActionKind.COMPLETE


def test_an_unanswered_step_runs_again_until_its_passes_run_out():
    lost = step(CancelStep.REFUND_PAYMENT, FAILED, uncertain=True, attempts=2)
    log = [step(CancelStep.CANCEL_RESERVATION, OK), lost]
    action = next_of(SagaStatus.RUNNING, log)
    assert (action.kind, action.name) == (ActionKind.RUN_STEP, CancelStep.REFUND_PAYMENT)
    out_of_passes = [log[0], step(CancelStep.REFUND_PAYMENT, FAILED, uncertain=True, attempts=3)]
    assert next_of(SagaStatus.RUNNING, out_of_passes).kind is ActionKind.BEGIN_COMPENSATION
    # The refund may have happened: the reservation is not reinstated, a person must look.
    failed = next_of(SagaStatus.COMPENSATING, out_of_passes)
    assert (failed.kind, failed.name) == (ActionKind.COMPENSATION_FAILED, CancelStep.REFUND_PAYMENT)


def test_a_refused_first_step_did_nothing_and_ends_compensated():
    log = [step(CancelStep.CANCEL_RESERVATION, FAILED, error="409 refunded")]
    assert next_of(SagaStatus.RUNNING, log).kind is ActionKind.BEGIN_COMPENSATION
    assert next_of(SagaStatus.COMPENSATING, log).kind is ActionKind.COMPENSATED


def test_a_refund_refused_for_good_reinstates_the_booking_then_fails_loudly():
    refused = step(CancelStep.REFUND_PAYMENT, FAILED, irreversible=True, error="REFUND_PAYMENT: refused")
    log = [step(CancelStep.CANCEL_RESERVATION, OK), refused]
    action = next_of(SagaStatus.COMPENSATING, log)
    assert (action.kind, action.name) == (
        ActionKind.RUN_COMPENSATION,
        CancelCompensation.REINSTATE_RESERVATION,
    )
    log.append(StepRecord(name=CancelCompensation.REINSTATE_RESERVATION, kind=Kind.COMPENSATION, status=OK))
    final = next_of(SagaStatus.COMPENSATING, log)
    assert (final.kind, final.name) == (ActionKind.COMPENSATION_FAILED, CancelStep.REFUND_PAYMENT)
    assert "confirmed again" in cancellation_failure(log, CancelStep.REFUND_PAYMENT)


def test_a_refund_refused_as_a_business_answer_reinstates_and_ends_compensated():
    log = [
        step(CancelStep.CANCEL_RESERVATION, OK),
        step(CancelStep.REFUND_PAYMENT, FAILED, error="404 no such payment"),
        StepRecord(name=CancelCompensation.REINSTATE_RESERVATION, kind=Kind.COMPENSATION, status=OK),
    ]
    assert next_of(SagaStatus.COMPENSATING, log).kind is ActionKind.COMPENSATED


def test_a_release_refused_after_the_refund_cannot_be_undone():
    log = [
        step(CancelStep.CANCEL_RESERVATION, OK),
        step(CancelStep.REFUND_PAYMENT, OK),
        step(CancelStep.RELEASE_SEATS, FAILED, error="409 only 0 booked"),
    ]
    final = next_of(SagaStatus.COMPENSATING, log)
    assert (final.kind, final.name) == (ActionKind.COMPENSATION_FAILED, CancelStep.RELEASE_SEATS)
    assert "cannot be undone" in cancellation_failure(log, CancelStep.RELEASE_SEATS)


def _booked(**changes) -> Booked:
    values = {
        "reservation_id": "r1",
        "status": "confirmed",
        "user_id": "user-1",
        "booking_saga_id": "s1",
        "event_id": 7,
        "seats": 2,
        "total_amount": Decimal("10000.00"),
        "currency": "XOF",
        "event_date": NOW + timedelta(days=1),
        "payment_id": "3",
        "payment_status": "completed",
        "payment_amount": Decimal("10000"),
    }
    values.update(changes)
    return Booked(**values)


def test_a_confirmed_booking_is_cancelled_by_its_user_before_the_event_with_a_full_refund():
    assert check_cancellation(_booked(), asked_by="user-1", now=NOW) == Decimal("10000.00")
    assert check_cancellation(_booked(), asked_by=None, now=NOW) == Decimal("10000.00")
    free = _booked(payment_id=None, payment_status=None, payment_amount=None, total_amount=Decimal(0))
    assert check_cancellation(free, asked_by=None, now=NOW) == Decimal("0.00")


@pytest.mark.parametrize(
    ("changes", "asked_by", "error", "field"),
    [
        ({}, "user-2", NotYourReservation, "userId"),
        ({"status": "pending"}, None, NotCancellable, "reservationId"),
        ({"status": "cancelled"}, None, NotCancellable, "reservationId"),
        ({"booking_saga_id": None}, None, NotCancellable, "reservationId"),
        ({"event_date": NOW}, None, EventStarted, "eventDate"),
        ({"payment_status": "refunded"}, None, NotCancellable, "reservationId"),
    ],
)
def test_the_rules_refuse_with_the_field_named(changes, asked_by, error, field):
    with pytest.raises(error) as refused:
        check_cancellation(_booked(**changes), asked_by=asked_by, now=NOW)
    assert refused.value.errors[0]["field"] == field
    assert refused.value.status in (403, 409)
