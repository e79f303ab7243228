"""The booking saga's rules: states, steps, legal transitions, and what to do next given the
step log (SAGA1-SAGA4). Plain code: no I/O, no clock."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from shared.errors import Conflict, field_error


class SagaStatus(StrEnum):
    STARTED = "STARTED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    COMPENSATING = "COMPENSATING"
    COMPENSATED = "COMPENSATED"
    COMPENSATION_FAILED = "COMPENSATION_FAILED"


TERMINAL = frozenset({SagaStatus.COMPLETED, SagaStatus.COMPENSATED, SagaStatus.COMPENSATION_FAILED})

NEXT: dict[SagaStatus, frozenset[SagaStatus]] = {
    SagaStatus.STARTED: frozenset({SagaStatus.RUNNING, SagaStatus.COMPENSATING}),
    SagaStatus.RUNNING: frozenset({SagaStatus.COMPLETED, SagaStatus.COMPENSATING}),
    SagaStatus.COMPENSATING: frozenset({SagaStatus.COMPENSATED, SagaStatus.COMPENSATION_FAILED}),
    SagaStatus.COMPLETED: frozenset(),
    SagaStatus.COMPENSATED: frozenset(),
    SagaStatus.COMPENSATION_FAILED: frozenset(),
}


class Step(StrEnum):
    """Forward steps, in the order they run (SAGA1-SAGA3)."""

    RESERVE_SEATS = "RESERVE_SEATS"
    CREATE_RESERVATION = "CREATE_RESERVATION"
    PROCESS_PAYMENT = "PROCESS_PAYMENT"
    CONFIRM_RESERVATION = "CONFIRM_RESERVATION"


STEPS: tuple[Step, ...] = tuple(Step)


class Compensation(StrEnum):
    """What undoes a completed step (SAGA4)."""

    REFUND = "REFUND"
    CANCEL_RESERVATION = "CANCEL_RESERVATION"
    RELEASE_SEATS = "RELEASE_SEATS"


# CONFIRM_RESERVATION is the last step: once it succeeded nothing can fail after it.
COMPENSATION_OF: dict[Step, Compensation | None] = {
    Step.RESERVE_SEATS: Compensation.RELEASE_SEATS,
    Step.CREATE_RESERVATION: Compensation.CANCEL_RESERVATION,
    Step.PROCESS_PAYMENT: Compensation.REFUND,
    Step.CONFIRM_RESERVATION: None,
}
STEP_OF: dict[Compensation, Step] = {c: s for s, c in COMPENSATION_OF.items() if c is not None}


class Kind(StrEnum):
    STEP = "step"
    COMPENSATION = "compensation"


class StepStatus(StrEnum):
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class StepRecord:
    """One row of the step log. `uncertain`: the participant did not answer, so it may or may
    not have acted (a timeout after it committed); its compensation must settle that first."""

    name: str
    kind: Kind
    status: StepStatus
    attempts: int = 1
    uncertain: bool = False
    error: str | None = None


@dataclass(frozen=True)
class Saga:
    """One saga as its log row holds it (the `sagas` table)."""

    id: uuid.UUID
    status: SagaStatus
    # The start request's body as accepted: a reused Idempotency-Key is compared with it.
    request: dict[str, Any]
    event_id: int
    seats: int
    amount: Decimal
    currency: str
    current_step: str | None = None
    reservation_id: str | None = None
    payment_id: str | None = None
    error: str | None = None
    idempotency_key: str | None = None
    owner: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> "Saga":
        """From a `sagas` row (columns this record does not hold, such as the lease, are left)."""
        values = {name: row[name] for name in SAGA_FIELDS if name in row}
        values["status"] = SagaStatus(row["status"])
        values["amount"] = Decimal(row["amount"])
        return cls(**values)

    def learnt(self, fields: Mapping[str, Any]) -> "Saga":
        """The saga with the columns a step taught it (reservation_id, payment_id, error)."""
        return replace(self, **fields) if fields else self

    @property
    def user_id(self) -> str:
        return str(self.request["userId"])


SAGA_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Saga))


CENT = Decimal("0.01")


class IllegalSagaTransition(Conflict):
    """The asked-for saga status cannot follow the current one."""


class PriceMismatch(Conflict):
    """The client's ticketPrice is not the event's: the event's price is the truth."""

    def __init__(self, asked: Decimal, price: Decimal) -> None:
        asked, price = asked.quantize(CENT), price.quantize(CENT)
        super().__init__(
            f"ticketPrice {asked} does not match the event's price {price}.",
            errors=[{"field": "ticketPrice", "message": f"the event's price is {price}"}],
            extra={"eventTicketPrice": float(price)},
        )


class EventStarted(Conflict):
    """The event's date has passed: it is no longer booked (nor cancelled)."""

    def __init__(self, event_id: int, event_date: datetime, what: str) -> None:
        at = event_date.isoformat().replace("+00:00", "Z")
        super().__init__(
            f"Event {event_id} started at {at}: {what}.",
            errors=[field_error("eventDate", f"the event started at {at}")],
            extra={"eventDate": at},
        )


def check_not_started(event_id: int, event_date: datetime, now: datetime, what: str) -> None:
    """The event's date is the business boundary of a booking and of a cancellation."""
    if event_date <= now:
        raise EventStarted(event_id, event_date, what)


def transition(current: SagaStatus, wanted: SagaStatus) -> SagaStatus:
    if wanted not in NEXT[current]:
        raise IllegalSagaTransition(f"saga status {current.value} -> {wanted.value}")
    return wanted


def check_price(asked: Decimal, event_price: Decimal) -> None:
    if asked.quantize(CENT) != event_price.quantize(CENT):
        raise PriceMismatch(asked, event_price)


def booking_amount(seats: int, ticket_price: Decimal) -> Decimal:
    """What the payment step charges: seats x the event's price."""
    return (ticket_price * seats).quantize(CENT, rounding=ROUND_HALF_UP)


def _record(log: list[StepRecord], name: str, kind: Kind) -> StepRecord | None:
    for record in log:
        if record.name == name and record.kind == kind:
            return record
    return None


def next_step(log: list[StepRecord]) -> Step | None:
    """The first forward step that has not succeeded (a `started` one was interrupted by a
    crash and runs again under the same idempotency key); None once all have succeeded."""
    for step in STEPS:
        record = _record(log, step, Kind.STEP)
        if record is None or record.status != StepStatus.SUCCEEDED:
            return step
    return None


def record_of(log: list[StepRecord], name: str, kind: Kind) -> StepRecord | None:
    return _record(log, name, kind)


def failed_step(log: list[StepRecord]) -> StepRecord | None:
    for record in log:
        if record.kind == Kind.STEP and record.status == StepStatus.FAILED:
            return record
    return None


def compensation_plan(log: list[StepRecord]) -> list[Compensation]:
    """Compensations still to run, in reverse order of the steps they undo: steps that
    succeeded, and steps whose outcome is unknown (uncertain or interrupted). A step refused
    by its participant did nothing, so it is not undone."""
    plan: list[Compensation] = []
    for step in reversed(STEPS):
        compensation = COMPENSATION_OF[step]
        record = _record(log, step, Kind.STEP)
        if compensation is None or record is None:
            continue
        may_have_acted = record.status in (StepStatus.SUCCEEDED, StepStatus.STARTED) or record.uncertain
        done = _record(log, compensation, Kind.COMPENSATION)
        if may_have_acted and (done is None or done.status != StepStatus.SUCCEEDED):
            plan.append(compensation)
    return plan


class ActionKind(StrEnum):
    RUN_STEP = "run_step"
    RUN_COMPENSATION = "run_compensation"
    BEGIN_COMPENSATION = "begin_compensation"
    COMPLETE = "complete"
    COMPENSATED = "compensated"
    COMPENSATION_FAILED = "compensation_failed"
    DONE = "done"


@dataclass(frozen=True)
class Action:
    """What the orchestrator does next; `name` is the step or compensation to run (or the
    one that kept failing, for COMPENSATION_FAILED)."""

    kind: ActionKind
    name: str | None = None


def decide(status: SagaStatus, log: list[StepRecord], *, max_compensation_attempts: int) -> Action:
    """The next action of a saga from its status and step log alone, so a saga resumed by
    another process after a crash continues exactly where the log says it stopped."""
    if status in TERMINAL:
        return Action(ActionKind.DONE)
    if status in (SagaStatus.STARTED, SagaStatus.RUNNING):
        if failed_step(log) is not None:
            return Action(ActionKind.BEGIN_COMPENSATION)
        step = next_step(log)
        return Action(ActionKind.COMPLETE) if step is None else Action(ActionKind.RUN_STEP, step)
    plan = compensation_plan(log)
    if not plan:
        return Action(ActionKind.COMPENSATED)
    record = _record(log, plan[0], Kind.COMPENSATION)
    if (
        record is not None
        and record.status == StepStatus.FAILED
        and record.attempts >= max_compensation_attempts
    ):
        return Action(ActionKind.COMPENSATION_FAILED, plan[0])
    return Action(ActionKind.RUN_COMPENSATION, plan[0])
