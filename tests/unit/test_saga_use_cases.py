"""The saga orchestrator's use cases over an in-memory saga log and scripted participants:
starting a booking (the checks made before anything is booked, the saga under a key, a twin
that won the insert) and driving one (the compensation plan after a failed step, in reverse
order and only for the steps that succeeded; a compensation that keeps failing ends the saga
COMPENSATION_FAILED after its passes). The log's statements against PostgreSQL and the HTTP
calls are tests/integration/saga_orchestrator's."""

import asyncio
import logging
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from saga_orchestrator.clients import EventNotFound, Outcome
from saga_orchestrator.domain import PriceMismatch, Saga, SagaStatus
from saga_orchestrator.orchestrator import Orchestrator
from saga_orchestrator.schemas import BookingIn
from saga_orchestrator.service import SagaService
from saga_orchestrator.settings import SagaSettings
from saga_orchestrator.store import SagaTaken
from shared.contracts import Envelope
from shared.errors import EventStarted, NotFound, Unavailable
from shared.http import ServiceUnreachable
from shared.idempotency import Idempotency, IdempotencyKeyReused
from shared.metrics import Metrics

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
OWNER = "this-orchestrator"
BOOKING = {
    "eventId": 1,
    "userId": "u1",
    "userName": "Awa",
    "userEmail": "awa@example.sn",
    "seats": 2,
    "ticketPrice": "5000",
    "paymentMethod": "card",
}


class MemorySagaLog:
    """The saga rows and what was written to them, in order."""

    def __init__(self) -> None:
        self.owner = OWNER
        self.sagas: dict[uuid.UUID, Saga] = {}
        self.writes: list[tuple[str, ...]] = []
        self.messages: list[Envelope] = []
        # The saga a twin under the same key inserted first (create then finds it).
        self.twin: Saga | None = None

    async def create(self, values: dict[str, Any]) -> Saga:
        if self.twin is not None:
            # The twin's insert committed just before ours: the key's unique index refuses ours.
            self.sagas[self.twin.id] = self.twin
            raise SagaTaken(live_cancellation=False)
        saga = Saga(status=SagaStatus.STARTED, owner=OWNER, **values)
        self.sagas[saga.id] = saga
        self.writes.append(("create", str(saga.id)))
        return saga

    async def find_by_key(self, key: str) -> Saga | None:
        return next((s for s in self.sagas.values() if s.idempotency_key == key), None)

    async def begin(self, saga_id: uuid.UUID, name: str, kind: Any, *, status: Any = None) -> Saga:
        self.writes.append(("begin", name))
        saga = replace(self.sagas[saga_id], current_step=name)
        if status is not None:
            saga = replace(saga, status=status)
        self.sagas[saga_id] = saga
        return saga

    async def finish(
        self,
        saga_id: uuid.UUID,
        name: str,
        *,
        ok: bool,
        error: str | None,
        response: Any,
        fields: dict[str, Any],
        then_begin: tuple[str, Any] | None = None,
        message: Envelope | None = None,
    ) -> Saga:
        self.writes.append(("succeeded" if ok else "failed", name))
        saga = self.sagas[saga_id].learnt(fields)
        if then_begin is not None:
            self.writes.append(("begin", then_begin[0]))
            saga = replace(saga, current_step=then_begin[0])
        if message is not None:
            self.messages.append(message)
        self.sagas[saga_id] = saga
        return saga

    async def change_status(
        self, saga_id: uuid.UUID, status: SagaStatus, *, error: str | None = None, message: Any = None
    ) -> Saga:
        self.writes.append(("status", status.value))
        saga = replace(self.sagas[saga_id], status=status, error=error or self.sagas[saga_id].error)
        if message is not None:
            self.messages.append(message)
        self.sagas[saga_id] = saga
        return saga


class ScriptedParticipants:
    """Every call succeeds unless scripted otherwise; the calls made, in order."""

    def __init__(self, **failing: Outcome) -> None:
        self.failing = failing
        self.calls: list[str] = []
        self.event_answer: Any = SimpleNamespace(
            event_date=NOW + timedelta(days=10), ticket_price=Decimal("5000")
        )

    async def event(self, event_id: int) -> Any:
        self.calls.append("event")
        if isinstance(self.event_answer, Exception):
            raise self.event_answer
        return self.event_answer

    async def run_step(self, step: str, saga: Saga) -> Outcome:
        self.calls.append(step)
        learnt = {"CREATE_RESERVATION": {"reservation_id": "r1"}, "PROCESS_PAYMENT": {"payment_id": "9"}}
        return self.failing.get(step) or Outcome(True, response={}, fields=learnt.get(step, {}))

    async def run_compensation(
        self, compensation: str, saga: Saga, *, uncertain_seats: bool = False
    ) -> Outcome:
        self.calls.append(compensation)
        return self.failing.get(compensation) or Outcome(True, response={})


def settings(**more: Any) -> SagaSettings:
    return SagaSettings(compensation_retry_seconds=0, compensation_attempts=3, **more)


def orchestrator(log: MemorySagaLog, participants: ScriptedParticipants) -> Orchestrator:
    return Orchestrator(
        log,  # type: ignore[arg-type]
        participants,  # type: ignore[arg-type]
        settings(),
        SimpleNamespace(wake=lambda: None),  # type: ignore[arg-type]
        Metrics("saga-test"),
        SimpleNamespace(refused=lambda: None),  # type: ignore[arg-type]
    )


def service(log: MemorySagaLog, participants: ScriptedParticipants) -> tuple[SagaService, Orchestrator]:
    driver = orchestrator(log, participants)
    use_cases = SagaService(log, participants, driver, settings(), clock=lambda: NOW)  # type: ignore[arg-type]
    return use_cases, driver


async def booked_to_the_end(
    participants: ScriptedParticipants, log: MemorySagaLog | None = None
) -> tuple[Saga, MemorySagaLog]:
    log = log or MemorySagaLog()
    use_cases, driver = service(log, participants)
    body = BookingIn.model_validate(BOOKING)
    failures = _Failures()
    logging.getLogger("saga_orchestrator.orchestrator").addHandler(failures)
    try:
        saga = await use_cases.start_booking(body, None)
        ended = driver.watch(saga.id)
        for _ in range(500):
            if ended.is_set() or failures.raised:
                break
            await asyncio.sleep(0.01)
    finally:
        logging.getLogger("saga_orchestrator.orchestrator").removeHandler(failures)
    if failures.raised:
        # The orchestrator logs what broke a drive and leaves the saga to a later pass.
        raise failures.raised[0]
    assert ended.is_set(), "the saga did not end"
    return log.sagas[saga.id], log


class _Failures(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.raised: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.raised.append(record.exc_info[1])


# --- starting a booking ----------------------------------------------------------------------


async def test_a_booking_at_another_price_than_the_events_starts_no_saga():
    log, participants = MemorySagaLog(), ScriptedParticipants()
    use_cases, _ = service(log, participants)
    with pytest.raises(PriceMismatch):
        await use_cases.start_booking(BookingIn.model_validate({**BOOKING, "ticketPrice": "4000"}), None)
    assert log.writes == []


@pytest.mark.parametrize(
    ("answer", "refusal"),
    [
        (EventNotFound(), NotFound),
        (ServiceUnreachable("down"), Unavailable),
        (SimpleNamespace(event_date=NOW - timedelta(minutes=1), ticket_price=Decimal("5000")), EventStarted),
    ],
)
async def test_a_booking_of_an_unknown_unreachable_or_started_event_starts_no_saga(answer, refusal):
    log, participants = MemorySagaLog(), ScriptedParticipants()
    participants.event_answer = answer
    use_cases, _ = service(log, participants)
    with pytest.raises(refusal):
        await use_cases.start_booking(BookingIn.model_validate(BOOKING), None)
    assert log.writes == []


async def test_a_retried_booking_under_its_key_gets_its_saga_without_asking_anyone():
    log, participants = MemorySagaLog(), ScriptedParticipants()
    use_cases, _ = service(log, participants)
    body = BookingIn.model_validate(BOOKING)
    idem = Idempotency.of("book-once", body.model_dump(mode="json", by_alias=True))
    first = await use_cases.start_booking(body, idem)
    calls = len(participants.calls)
    again = await use_cases.start_booking(body, idem)
    assert again.id == first.id and len(participants.calls) == calls
    assert [w for w in log.writes if w[0] == "create"] == [("create", str(first.id))]
    # Another body under the same key is refused.
    other = BookingIn.model_validate({**BOOKING, "seats": 3})
    with pytest.raises(IdempotencyKeyReused):
        await use_cases.start_booking(
            other, Idempotency.of("book-once", other.model_dump(mode="json", by_alias=True))
        )


async def test_a_booking_whose_twin_inserted_first_answers_the_twins_saga_and_drives_nothing():
    log, participants = MemorySagaLog(), ScriptedParticipants()
    body = BookingIn.model_validate(BOOKING)
    idem = Idempotency.of("book-once", body.model_dump(mode="json", by_alias=True))
    log.twin = Saga(
        id=uuid.uuid4(),
        status=SagaStatus.RUNNING,
        request=body.model_dump(mode="json", by_alias=True),
        event_id=1,
        seats=2,
        amount=Decimal("10000"),
        currency="XOF",
        idempotency_key="book-once",
        # Its own request (handled here too) drives it, not this one.
        owner=OWNER,
    )
    use_cases, _ = service(log, participants)
    assert await use_cases.start_booking(body, idem) is log.twin
    await asyncio.sleep(0.05)
    assert participants.calls == ["event"] and log.writes == []


# --- driving a saga --------------------------------------------------------------------------


async def test_a_booking_runs_its_four_steps_and_completes():
    saga, log = await booked_to_the_end(ScriptedParticipants())
    assert saga.status is SagaStatus.COMPLETED
    assert (saga.reservation_id, saga.payment_id) == ("r1", "9")
    assert [m.type for m in log.messages] == ["booking.confirmed"]


async def test_a_declined_payment_undoes_the_steps_that_succeeded_in_reverse_order():
    participants = ScriptedParticipants(PROCESS_PAYMENT=Outcome(False, "PROCESS_PAYMENT: payment declined"))
    saga, log = await booked_to_the_end(participants)
    assert saga.status is SagaStatus.COMPENSATED
    # No refund: the payment failed. The reservation, then the seats, the reverse of their order.
    assert participants.calls[1:] == [
        "RESERVE_SEATS",
        "CREATE_RESERVATION",
        "PROCESS_PAYMENT",
        "CANCEL_RESERVATION",
        "RELEASE_SEATS",
    ]
    assert "declined" in (saga.error or "")
    assert [m.type for m in log.messages] == ["booking.compensated"]


async def test_a_failed_confirmation_refunds_the_payment_first():
    participants = ScriptedParticipants(CONFIRM_RESERVATION=Outcome(False, "CONFIRM_RESERVATION: 409"))
    saga, _ = await booked_to_the_end(participants)
    assert saga.status is SagaStatus.COMPENSATED
    undone = participants.calls[participants.calls.index("CONFIRM_RESERVATION") + 1 :]
    assert undone == ["REFUND", "CANCEL_RESERVATION", "RELEASE_SEATS"]


async def test_a_compensation_that_keeps_failing_ends_the_saga_compensation_failed_after_its_passes():
    participants = ScriptedParticipants(
        PROCESS_PAYMENT=Outcome(False, "PROCESS_PAYMENT: payment declined"),
        CANCEL_RESERVATION=Outcome(False, "CANCEL_RESERVATION: 500"),
    )
    saga, _ = await booked_to_the_end(participants)
    assert saga.status is SagaStatus.COMPENSATION_FAILED
    # Three passes (compensation_attempts), then a person is asked; the seats are not released
    # while the reservation that holds them stands.
    assert participants.calls.count("CANCEL_RESERVATION") == 3
    assert "RELEASE_SEATS" not in participants.calls
    assert "CANCEL_RESERVATION kept failing" in (saga.error or "")
