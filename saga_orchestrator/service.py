"""The orchestrator's use cases: starting a saga (the checks made before anything is booked)
and reading one. The API calls these and does HTTP only; the orchestrator drives what they
start."""

import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from saga_orchestrator.clients import (
    EventNotFound,
    Participants,
    ReservationNotFound,
)
from saga_orchestrator.domain import (
    TERMINAL,
    Booked,
    NotResumable,
    Saga,
    SagaStatus,
    SagaType,
    booking_amount,
    check_cancellation,
    check_not_started,
    check_price,
    failed_step,
    resume_status,
)
from saga_orchestrator.orchestrator import Orchestrator
from saga_orchestrator.schemas import BookingIn, CancellationIn
from saga_orchestrator.settings import SagaSettings
from saga_orchestrator.store import SagaStore, SagaTaken
from shared.clock import utc_now
from shared.crashpoints import crash_point
from shared.errors import Conflict, NotFound, Unavailable, field_error
from shared.http import ServiceUnreachable
from shared.idempotency import Idempotency, fingerprint


class SagaStillRunning(Conflict):
    """The reservation's booking saga has not ended: cancel once it has (409)."""

    def __init__(self, saga: Saga, what: str) -> None:
        super().__init__(
            f"The reservation's {what} saga {saga.id} is still {saga.status.value}; retry once it has ended.",
            errors=[field_error("reservationId", f"held by {what} saga {saga.id}")],
            extra={"sagaId": str(saga.id), "sagaStatus": saga.status.value},
        )


class AlreadyCancelled(Conflict):
    """A cancellation of the reservation ended: COMPLETED (it is cancelled), or
    COMPENSATION_FAILED (a person settles it before anything else is tried)."""

    def __init__(self, saga: Saga) -> None:
        done = (
            f"The reservation is cancelled by saga {saga.id} ({saga.status.value})."
            if saga.status is SagaStatus.COMPLETED
            else f"Cancellation saga {saga.id} ended {saga.status.value}: settle it by hand first "
            f"({saga.error})."
        )
        super().__init__(
            done,
            errors=[field_error("reservationId", f"cancelled by saga {saga.id}")],
            extra={"sagaId": str(saga.id), "sagaStatus": saga.status.value},
        )


class SagaService:
    def __init__(
        self,
        store: SagaStore,
        participants: Participants,
        orchestrator: Orchestrator,
        settings: SagaSettings,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.participants = participants
        self.orchestrator = orchestrator
        self.settings = settings
        self.clock = clock

    @staticmethod
    def _same_request(saga: Saga, idem: Idempotency | None) -> Saga:
        """The saga started under the key, unless it was started for another request (422)."""
        if idem is not None:
            idem.same_request(fingerprint(saga.request))
        return saga

    async def _started_under(self, idem: Idempotency | None) -> Saga | None:
        """The saga already started under the Idempotency-Key, if there is one (422 when it
        was started for another request)."""
        if idem is None:
            return None
        existing = await self.store.find_by_key(idem.key)
        return None if existing is None else self._same_request(existing, idem)

    async def _create(self, values: dict[str, Any]) -> tuple[Saga, bool]:
        """Write the new saga to the log: (it, True); or (the saga a twin request under the
        same Idempotency-Key wrote first, False). A cancellation of a reservation whose other
        cancellation runs is refused (409)."""
        try:
            return await self.store.create(values), True
        except SagaTaken as taken:
            key = values.get("idempotency_key")
            twin = await self.store.find_by_key(key) if key else None
            if twin is not None:
                return twin, False
            if taken.live_cancellation:
                live = await self.store.live_cancellation(str(values["reservation_id"]))
                if live is not None:
                    raise SagaStillRunning(live, "cancellation") from None
            raise

    def _can_take_work(self) -> None:
        """503 while a participant refuses this orchestrator's token: a saga it started could
        only wait (shared/peers.py)."""
        if (reason := self.orchestrator.peers.refused()) is not None:
            raise Unavailable(f"This orchestrator takes no saga now: {reason}.")

    async def resume(self, saga_id: uuid.UUID) -> Saga:
        """An operator's resume of a COMPENSATION_FAILED saga (domain.resume_status), driven
        by this process from now; 404 unknown, 409 not resumable."""
        self._can_take_work()
        found = await self.store.find(saga_id)
        if found is None:
            raise NotFound(f"Saga {saga_id} not found.")
        saga, steps = found
        status = resume_status(saga.id, saga.type, saga.status, steps)
        failed = failed_step(steps)
        # The error that made it compensate (a booking), not "kept failing", which is over.
        resumed = await self.store.resume(saga.id, status, failed.error if failed else None)
        if resumed is None:  # another operator resumed it meanwhile
            raise NotResumable(saga.id, "it is not COMPENSATION_FAILED any more", saga.status)
        self.orchestrator.drive_soon(resumed.id)
        return resumed

    async def start_booking(self, body: BookingIn, idem: Idempotency | None) -> Saga:
        """A booking saga (SAGA1), leased to this process and driven in the background; the
        one already started under the Idempotency-Key when there is one. Nothing is booked when the event
        is unknown (404), unreachable (503), priced otherwise (409) or has started (409 naming
        eventDate)."""
        # exercise SAGA1, level 2: begin
        payload = body.model_dump(mode="json", by_alias=True)
        key = idem.key if idem is not None else None
        if (existing := await self._started_under(idem)) is not None:
            return existing
        self._can_take_work()
        try:
            event = await self.participants.event(body.event_id)
        except EventNotFound:
            raise NotFound(
                f"Event {body.event_id} not found; no saga was started.",
                errors=[field_error("eventId", "no such event")],
            ) from None
        except ServiceUnreachable:
            raise Unavailable("The event service cannot be reached; nothing was booked.") from None
        check_not_started(body.event_id, event.event_date, self.clock(), "it can no longer be booked")
        # The event's price is the truth: a client quoting another price books nothing.
        price = event.ticket_price
        check_price(body.ticket_price, price)
        crash_point("before:create", key)
        # exercise SAGA1: begin
        saga, created = await self._create(
            {
                "id": uuid.uuid4(),
                "request": payload,
                "event_id": body.event_id,
                "seats": body.seats,
                "amount": booking_amount(body.seats, price, self.settings.currency),
                "currency": self.settings.currency,
                "idempotency_key": key,
            }
        )
        if created:
            self.orchestrator.drive_soon(saga.id, saga)
        # exercise SAGA1: end
        crash_point("after:create", key)
        return self._same_request(saga, idem)
        # exercise SAGA1, level 2: end

    async def start_cancellation(self, body: CancellationIn, idem: Idempotency | None) -> Saga:
        """A cancellation saga of a confirmed booking a saga made, if the rules allow it (the
        domain's check_cancellation); the one already started under the Idempotency-Key when
        there is one.
        Refused with 409 while the reservation's booking saga runs, or while another
        cancellation of it runs or has completed."""
        try:
            return await self._new_cancellation(body, idem)
        except Conflict:
            # A twin under the same key can start, and even refund, between this request's
            # reads: what it did then looks like a reason to refuse. The key's saga is the answer.
            if (twin := await self._started_under(idem)) is not None:
                return twin
            raise

    async def _new_cancellation(self, body: CancellationIn, idem: Idempotency | None) -> Saga:
        payload = body.model_dump(mode="json", by_alias=True)
        key = idem.key if idem is not None else None
        if (existing := await self._started_under(idem)) is not None:
            return existing
        self._can_take_work()
        rid = body.reservation_id
        try:
            reservation = await self.participants.reservation(rid)
        except ReservationNotFound:
            raise NotFound(
                f"Reservation {rid} not found; nothing was cancelled.",
                errors=[field_error("reservationId", "no such reservation")],
            ) from None
        except ServiceUnreachable:
            raise Unavailable("The reservation service cannot be reached; nothing was cancelled.") from None
        booking_saga = await self._booking_saga(reservation.saga_id)
        if booking_saga is not None and booking_saga.status not in TERMINAL:
            raise SagaStillRunning(booking_saga, "booking")
        live = await self.store.live_cancellation(rid)
        if live is not None and key is not None and live.idempotency_key == key:
            return self._same_request(live, idem)  # a twin with this key made it meanwhile
        if live is not None and live.status in TERMINAL:
            raise AlreadyCancelled(live)
        if live is not None:
            raise SagaStillRunning(live, "cancellation")
        try:
            event = await self.participants.event(reservation.event_id)
            payments = await self.participants.payments_of(rid)
        except EventNotFound:
            raise NotFound(f"The reservation's event {reservation.event_id} no longer exists.") from None
        except ServiceUnreachable:
            raise Unavailable("A participant cannot be reached; nothing was cancelled.") from None
        paid = next((p for p in payments if p.status != "failed"), None)
        details = reservation.booking_details
        booked = Booked(
            reservation_id=rid,
            status=reservation.status,
            user_id=reservation.user_id,
            booking_saga_id=reservation.saga_id,
            event_id=reservation.event_id,
            seats=details.seats,
            total_amount=details.total_amount or Decimal(0),
            currency=details.currency or self.settings.currency,
            event_date=event.event_date,
            payment_id=str(paid.id) if paid else None,
            payment_status=paid.status if paid else None,
            payment_amount=paid.amount if paid else None,
        )
        refund = check_cancellation(booked, asked_by=body.user_id, now=self.clock())
        user = reservation.user_details
        crash_point("before:create", key)
        saga, created = await self._create(
            {
                "id": uuid.uuid4(),
                "type": SagaType.CANCELLATION.value,
                "request": payload,
                "event_id": booked.event_id,
                "seats": booked.seats,
                "amount": refund,
                "currency": booked.currency,
                "reservation_id": rid,
                "payment_id": booked.payment_id,
                "idempotency_key": key,
                "context": {
                    "userId": booked.user_id,
                    "userName": user.name,
                    "userEmail": user.email,
                    "bookingSagaId": booked.booking_saga_id,
                },
            }
        )
        if created:
            self.orchestrator.drive_soon(saga.id, saga)
        crash_point("after:create", key)
        return self._same_request(saga, idem)

    async def _booking_saga(self, saga_id: Any) -> Saga | None:
        try:
            found = await self.store.read(uuid.UUID(str(saga_id))) if saga_id else None
        except ValueError:
            return None
        return found[0] if found else None
