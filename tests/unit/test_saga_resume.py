"""Where an operator's resume takes a COMPENSATION_FAILED saga (domain.resume_status), and
that the new round it gets (attempts back to 0) makes decide() run the failed call again."""

from dataclasses import replace

import pytest

from saga_orchestrator.domain import (
    ActionKind,
    CancelCompensation,
    CancelStep,
    Compensation,
    Kind,
    NotResumable,
    SagaStatus,
    SagaType,
    Step,
    StepRecord,
    StepStatus,
    decide,
    resume_status,
)

OK, FAILED = StepStatus.SUCCEEDED, StepStatus.FAILED
FAILED_SAGA = SagaStatus.COMPENSATION_FAILED


def step(name: str, status: StepStatus, **kw) -> StepRecord:
    return StepRecord(name=name, kind=Kind.STEP, status=status, **kw)


def compensation(name: str, status: StepStatus, **kw) -> StepRecord:
    return StepRecord(name=name, kind=Kind.COMPENSATION, status=status, **kw)


def new_round(log: list[StepRecord]) -> list[StepRecord]:
    """What store.resume does to the log."""
    return [replace(r, attempts=0) if r.status == FAILED else r for r in log]


def test_a_booking_whose_release_kept_failing_goes_back_to_compensating_and_releases_again():
    log = [
        step(Step.RESERVE_SEATS, OK),
        step(Step.CREATE_RESERVATION, OK),
        step(Step.PROCESS_PAYMENT, FAILED, error="declined"),
        compensation(Compensation.CANCEL_RESERVATION, OK),
        compensation(Compensation.RELEASE_SEATS, FAILED, attempts=3, error="no answer"),
    ]
    assert decide(FAILED_SAGA, log, max_compensation_attempts=3).kind is ActionKind.DONE
    status = resume_status("s", SagaType.BOOKING, FAILED_SAGA, log)
    assert status is SagaStatus.COMPENSATING
    action = decide(status, new_round(log), max_compensation_attempts=3)
    assert (action.kind, action.name) == (ActionKind.RUN_COMPENSATION, Compensation.RELEASE_SEATS)


@pytest.mark.parametrize("status", [s for s in SagaStatus if s is not FAILED_SAGA])
def test_only_a_compensation_failed_saga_is_resumed(status: SagaStatus):
    with pytest.raises(NotResumable, match=f"it is {status.value}, not COMPENSATION_FAILED"):
        resume_status("s", SagaType.BOOKING, status, [])


def test_a_cancellation_whose_reinstatement_kept_failing_is_compensated_again():
    log = [
        step(CancelStep.CANCEL_RESERVATION, OK),
        step(CancelStep.REFUND_PAYMENT, FAILED, error="404 no such payment"),
        compensation(CancelCompensation.REINSTATE_RESERVATION, FAILED, attempts=3),
    ]
    status = resume_status("s", SagaType.CANCELLATION, FAILED_SAGA, log)
    assert status is SagaStatus.COMPENSATING
    action = decide(status, new_round(log), max_compensation_attempts=3, saga_type=SagaType.CANCELLATION)
    assert (action.kind, action.name) == (
        ActionKind.RUN_COMPENSATION,
        CancelCompensation.REINSTATE_RESERVATION,
    )


def test_a_cancellation_whose_release_got_no_answer_runs_it_again_and_completes():
    log = [
        step(CancelStep.CANCEL_RESERVATION, OK),
        step(CancelStep.REFUND_PAYMENT, OK),
        step(CancelStep.RELEASE_SEATS, FAILED, attempts=3, uncertain=True, error="no answer"),
    ]
    status = resume_status("s", SagaType.CANCELLATION, FAILED_SAGA, log)
    assert status is SagaStatus.RUNNING
    action = decide(status, new_round(log), max_compensation_attempts=3, saga_type=SagaType.CANCELLATION)
    assert (action.kind, action.name) == (ActionKind.RUN_STEP, CancelStep.RELEASE_SEATS)


@pytest.mark.parametrize(
    "log",
    [
        # the provider refused the refund: the payment is refund_failed for good
        [
            step(CancelStep.CANCEL_RESERVATION, OK),
            step(CancelStep.REFUND_PAYMENT, FAILED, irreversible=True),
            compensation(CancelCompensation.REINSTATE_RESERVATION, OK),
        ],
        # the money went back, then the release was refused (a business answer)
        [
            step(CancelStep.CANCEL_RESERVATION, OK),
            step(CancelStep.REFUND_PAYMENT, OK),
            step(CancelStep.RELEASE_SEATS, FAILED, error="409 refused"),
        ],
    ],
    ids=["refund refused", "release refused after the refund"],
)
def test_a_cancellation_refused_past_the_point_of_no_return_is_settled_by_hand(log: list[StepRecord]):
    with pytest.raises(NotResumable, match="settle it by hand"):
        resume_status("s", SagaType.CANCELLATION, FAILED_SAGA, log)
