"""The sagas' rules: states, steps, legal transitions, and what to do next given the step log,
for the booking saga (SAGA1-SAGA4) and the cancellation saga; who may cancel and until when.
Plain code: no I/O, no clock (the time comes in as an argument)."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from shared.errors import AppError, Conflict, EventStarted, field_error
from shared.money import Money, decimal_text


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


class SagaType(StrEnum):
    BOOKING = "booking"
    CANCELLATION = "cancellation"


class Step(StrEnum):
    """The booking saga's forward steps, in the order they run (SAGA1-SAGA3)."""

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


class CancelStep(StrEnum):
    """The cancellation saga's forward steps, in the order they run."""

    CANCEL_RESERVATION = "CANCEL_RESERVATION"
    REFUND_PAYMENT = "REFUND_PAYMENT"
    RELEASE_SEATS = "RELEASE_SEATS"
    NOTIFY = "NOTIFY"


CANCEL_STEPS: tuple[CancelStep, ...] = tuple(CancelStep)


class CancelCompensation(StrEnum):
    """What undoes CANCEL_RESERVATION while no money has gone back: the booking stands again."""

    REINSTATE_RESERVATION = "REINSTATE_RESERVATION"


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
    # Refused, yet it changed something no compensation can take back (a refund the provider
    # refused leaves the payment refund_failed).
    irreversible: bool = False


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
    type: SagaType = SagaType.BOOKING
    # What a cancellation learnt at its start: the booking's user and its booking saga.
    context: dict[str, Any] = field(default_factory=dict)
    # The trace of the request that started it (W3C headers; docs/tracing.md), None outside one.
    trace_context: dict[str, str] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> "Saga":
        """From a `sagas` row (columns this record does not hold, such as the lease, are left)."""
        values = {name: row[name] for name in SAGA_FIELDS if name in row}
        values["status"] = SagaStatus(row["status"])
        values["amount"] = Decimal(row["amount"])
        if "type" in values:
            values["type"] = SagaType(values["type"])
        values["context"] = dict(values.get("context") or {})
        return cls(**values)

    def learnt(self, fields: Mapping[str, Any]) -> "Saga":
        """The saga with the columns a step taught it (reservation_id, payment_id, error)."""
        return replace(self, **fields) if fields else self

    @property
    def user_id(self) -> str:
        return str(self.request.get("userId") or self.context.get("userId") or "")

    @property
    def user_name(self) -> str | None:
        return self.request.get("userName") or self.context.get("userName")

    @property
    def user_email(self) -> str | None:
        return self.request.get("userEmail") or self.context.get("userEmail")


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
            extra={"eventTicketPrice": decimal_text(price)},  # money: a decimal string
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


def booking_amount(seats: int, ticket_price: Decimal, currency: str) -> Decimal:
    """What the payment step charges: the total of `seats` at the event's price (Money.total,
    the reservation's total too)."""
    return Money.of(ticket_price, currency).total(seats).amount


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
    # exercise SAGA4, level 2: begin
    """Compensations still to run, in reverse order of the steps they undo: steps that
    succeeded, and steps whose outcome is unknown (uncertain or interrupted). A step refused
    by its participant did nothing, so it is not undone."""
    # exercise SAGA4: begin
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
    # exercise SAGA4: end
    # exercise SAGA4, level 2: end


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


def decide(
    status: SagaStatus,
    log: list[StepRecord],
    *,
    max_compensation_attempts: int,
    saga_type: SagaType = SagaType.BOOKING,
) -> Action:
    """The next action of a saga from its status and step log alone, so a saga resumed by
    another process after a crash continues exactly where the log says it stopped."""
    if saga_type is SagaType.CANCELLATION:
        return decide_cancellation(status, log, max_attempts=max_compensation_attempts)
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


# --- the cancellation saga ------------------------------------------------------------------
#
# CANCEL_RESERVATION -> REFUND_PAYMENT -> RELEASE_SEATS -> NOTIFY. Every step is idempotent
# under its key, so a step that got no answer is run again (forward recovery, up to the
# compensation passes) rather than undone: the customer asked to cancel. A step its
# participant refuses is undone backwards while that is still possible: until money went back,
# REINSTATE_RESERVATION makes the booking stand again (COMPENSATED). Once the refund may have
# happened (succeeded, or no answer), or the provider refused it and left the payment
# refund_failed, nothing can restore the booking as it was: the saga ends COMPENSATION_FAILED
# with the reason, listed for a person to settle; never a silent half-cancel.


def _cancel_record(log: list[StepRecord], step: CancelStep) -> StepRecord | None:
    return _record(log, step, Kind.STEP)


def refund_may_have_happened(log: list[StepRecord]) -> bool:
    refund = _cancel_record(log, CancelStep.REFUND_PAYMENT)
    if refund is None:
        return False
    return refund.status in (StepStatus.SUCCEEDED, StepStatus.STARTED) or refund.uncertain


def cannot_be_undone(log: list[StepRecord]) -> bool:
    """The cancellation went past its point of no return: money went back (or may have), or
    the refund attempt left the payment refund_failed."""
    refund = _cancel_record(log, CancelStep.REFUND_PAYMENT)
    return refund_may_have_happened(log) or (refund is not None and refund.irreversible)


def cancellation_compensation_plan(log: list[StepRecord]) -> list[CancelCompensation]:
    """REINSTATE_RESERVATION while the reservation may be cancelled and no money went back."""
    cancel = _cancel_record(log, CancelStep.CANCEL_RESERVATION)
    if cancel is None:
        return []
    may_have_acted = cancel.status in (StepStatus.SUCCEEDED, StepStatus.STARTED) or cancel.uncertain
    if not may_have_acted or refund_may_have_happened(log):
        return []
    done = _record(log, CancelCompensation.REINSTATE_RESERVATION, Kind.COMPENSATION)
    if done is not None and done.status == StepStatus.SUCCEEDED:
        return []
    return [CancelCompensation.REINSTATE_RESERVATION]


def decide_cancellation(status: SagaStatus, log: list[StepRecord], *, max_attempts: int) -> Action:
    if status in TERMINAL:
        return Action(ActionKind.DONE)
    if status in (SagaStatus.STARTED, SagaStatus.RUNNING):
        failed = failed_step(log)
        if failed is not None:
            if failed.uncertain and failed.attempts < max_attempts:
                return Action(ActionKind.RUN_STEP, failed.name)
            return Action(ActionKind.BEGIN_COMPENSATION)
        for step in CANCEL_STEPS:
            record = _cancel_record(log, step)
            if record is None or record.status != StepStatus.SUCCEEDED:
                return Action(ActionKind.RUN_STEP, step)
        return Action(ActionKind.COMPLETE)
    plan = cancellation_compensation_plan(log)
    if plan:
        record = _record(log, plan[0], Kind.COMPENSATION)
        if record is not None and record.status == StepStatus.FAILED and record.attempts >= max_attempts:
            return Action(ActionKind.COMPENSATION_FAILED, plan[0])
        return Action(ActionKind.RUN_COMPENSATION, plan[0])
    if cannot_be_undone(log):
        failed = failed_step(log)
        return Action(ActionKind.COMPENSATION_FAILED, failed.name if failed else CancelStep.REFUND_PAYMENT)
    return Action(ActionKind.COMPENSATED)


def cancellation_failure(log: list[StepRecord], name: str) -> str:
    """Why a cancellation ended COMPENSATION_FAILED, and what state it left, in words."""
    compensation = _record(log, name, Kind.COMPENSATION)
    if compensation is not None:
        return (
            f"{name} kept failing: {compensation.error or 'unknown'}; the reservation may stay "
            "cancelled while its payment and seats are still taken: settle it by hand"
        )
    failed = _record(log, name, Kind.STEP)
    reason = failed.error if failed and failed.error else f"{name} failed"
    refund = _cancel_record(log, CancelStep.REFUND_PAYMENT)
    if refund is not None and refund.irreversible and not refund_may_have_happened(log):
        return (
            f"{reason}; the reservation is confirmed again and keeps its seats; the payment is "
            "refund_failed: settle it with the provider by hand"
        )
    return f"{reason}; the payment was refunded (or may have been), so the cancellation cannot be undone"


# --- an operator's resume ------------------------------------------------------------------


class NotResumable(Conflict):
    """Only a COMPENSATION_FAILED saga whose failed calls may still succeed is resumed (409)."""

    def __init__(self, saga_id: object, detail: str, status: SagaStatus) -> None:
        super().__init__(
            f"Saga {saga_id} cannot be resumed: {detail}.",
            extra={"sagaId": str(saga_id), "sagaStatus": status.value},
        )


def resume_status(
    saga_id: object, saga_type: SagaType, status: SagaStatus, log: list[StepRecord]
) -> SagaStatus:
    """Where an operator's resume takes a COMPENSATION_FAILED saga once the cause is fixed
    (a participant back, the tokens agreeing): its failed calls get a new round of passes
    (the store resets their attempts) and run again under their idempotency keys.

    - booking: back to COMPENSATING; the compensations still to run run again, it ends
      COMPENSATED (or COMPENSATION_FAILED again, if the cause is not fixed);
    - cancellation whose REINSTATE_RESERVATION kept failing: back to COMPENSATING likewise;
    - cancellation whose forward step got no answer after every pass (the refund's, the
      seats' release): back to RUNNING, the step runs again, and the cancellation completes;
    - any other cancellation (the provider refused the refund, or a participant refused a
      step after money went back): NotResumable, a person settles it with the provider.
    """
    if status is not SagaStatus.COMPENSATION_FAILED:
        raise NotResumable(saga_id, f"it is {status.value}, not COMPENSATION_FAILED", status)
    if saga_type is SagaType.BOOKING or cancellation_compensation_plan(log):
        return SagaStatus.COMPENSATING
    failed = failed_step(log)
    refund = _cancel_record(log, CancelStep.REFUND_PAYMENT)
    if failed is not None and failed.uncertain and not (refund is not None and refund.irreversible):
        return SagaStatus.RUNNING
    raise NotResumable(
        saga_id,
        "this cancellation was refused, not left unanswered, and money went back (or the "
        "provider refused the refund): running it again cannot change that; settle it by hand",
        status,
    )


# --- who may cancel, and until when -------------------------------------------------------


class NotYourReservation(AppError):
    """The caller named another user than the reservation's (403)."""

    status = 403
    title = "Forbidden"

    def __init__(self, reservation_id: str) -> None:
        super().__init__(
            f"Reservation {reservation_id} belongs to another user; only its owner may cancel it.",
            errors=[field_error("userId", "is not the reservation's user")],
        )


class NotCancellable(Conflict):
    """The reservation is not in a state a cancellation saga may start from (409)."""

    def __init__(self, reservation_id: str, detail: str, **extra: Any) -> None:
        super().__init__(
            f"Reservation {reservation_id} cannot be cancelled: {detail}.",
            errors=[field_error("reservationId", detail)],
            extra={"reservationId": reservation_id, **extra},
        )


@dataclass(frozen=True)
class Booked:
    """What a cancellation reads before it starts: the reservation, its event's date and
    its payment (None for a free event)."""

    reservation_id: str
    status: str
    user_id: str
    booking_saga_id: str | None
    event_id: int
    seats: int
    total_amount: Decimal
    currency: str
    event_date: datetime
    payment_id: str | None
    payment_status: str | None
    payment_amount: Decimal | None


def check_cancellation(booked: Booked, *, asked_by: str | None, now: datetime) -> Decimal:
    """The amount refunded (in full) when the rules allow the cancellation: only a booking a
    saga made and confirmed, only by its user when the caller names one, and only before the
    event starts."""
    if booked.booking_saga_id is None:
        raise NotCancellable(
            booked.reservation_id, "it was not booked by a saga (cancel it at the reservation service)"
        )
    if asked_by is not None and asked_by != booked.user_id:
        raise NotYourReservation(booked.reservation_id)
    if booked.status != "confirmed":
        raise NotCancellable(
            booked.reservation_id, f"it is {booked.status}, not confirmed", currentStatus=booked.status
        )
    check_not_started(booked.event_id, booked.event_date, now, "its bookings can no longer be cancelled")
    if booked.payment_id is None:
        if booked.total_amount != 0:
            raise NotCancellable(booked.reservation_id, "no payment of it was found")
        return Decimal("0.00")
    if booked.payment_status != "completed" or booked.payment_amount is None:
        raise NotCancellable(
            booked.reservation_id,
            f"its payment {booked.payment_id} is {booked.payment_status}, not completed",
            paymentStatus=booked.payment_status,
        )
    return booked.payment_amount.quantize(CENT)
