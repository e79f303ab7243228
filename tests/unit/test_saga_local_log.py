"""The orchestrator's in-memory step log follows what SagaStore.begin/finish commit (issue 12)."""

from saga_orchestrator.domain import Compensation, Kind, SagaStatus, Step, StepRecord, StepStatus, decide
from saga_orchestrator.orchestrator import _began, _finished


def test_begin_appends_a_new_step_started_once():
    log = _began([], Step.RESERVE_SEATS, Kind.STEP)
    assert log == [StepRecord(name=Step.RESERVE_SEATS, kind=Kind.STEP, status=StepStatus.STARTED, attempts=1)]


def test_begin_again_counts_one_more_attempt_and_keeps_the_last_error_until_finish():
    failed = StepRecord(
        name=Compensation.RELEASE_SEATS,
        kind=Kind.COMPENSATION,
        status=StepStatus.FAILED,
        attempts=1,
        error="down",
    )
    (again,) = _began([failed], Compensation.RELEASE_SEATS, Kind.COMPENSATION)
    assert (again.status, again.attempts, again.error) == (StepStatus.STARTED, 2, "down")


def test_finish_records_the_outcome_and_an_uncertain_answer():
    log = _began([], Step.RESERVE_SEATS, Kind.STEP)
    (done,) = _finished(log, Step.RESERVE_SEATS, Kind.STEP, ok=True, error=None, response={"id": "r1"})
    assert (done.status, done.uncertain, done.error) == (StepStatus.SUCCEEDED, False, None)
    (lost,) = _finished(
        log, Step.RESERVE_SEATS, Kind.STEP, ok=False, error="timeout", response={"uncertain": True}
    )
    assert (lost.status, lost.uncertain, lost.error) == (StepStatus.FAILED, True, "timeout")


def test_a_finished_step_lets_the_domain_choose_the_next_one_from_memory():
    log = _finished(
        _began([], Step.RESERVE_SEATS, Kind.STEP),
        Step.RESERVE_SEATS,
        Kind.STEP,
        ok=True,
        error=None,
        response={},
    )
    action = decide(SagaStatus.RUNNING, log, max_compensation_attempts=3)
    assert action.kind == "run_step"
    assert action.name != Step.RESERVE_SEATS
