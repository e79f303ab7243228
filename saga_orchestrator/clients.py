"""HTTP calls to the saga's participants (event, reservation and payment services).

Every call carries `Idempotency-Key: <sagaId>:<STEP>`, has a timeout and is retried with
backoff on transient errors (shared.http.ServiceClient). Each answer is turned into an
Outcome: succeeded, refused by the participant (a business answer: nothing was done), or
uncertain (no answer after every retry: the participant may have acted). A 401/403 is none
of these: the participant refuses our SERVICE_TOKEN, a configuration fault (nothing was done);
the clients raise TokenRefused, which no judgement here catches, and the orchestrator waits
for the fix instead of compensating (orchestrator.py, `_wait_for_token`).

"Nothing was done" is never concluded from silence, nor from asking whether something was
done under the key: a copy of the call may still be in flight (a participant that was
paused serves its buffered requests when it resumes). Before the saga counts a step of
RESERVE_SEATS, CREATE_RESERVATION or PROCESS_PAYMENT as not done, it fences the step's key
at the participant (`PUT …/fences/<key>`): the participant either answers the call's stored
answer (it was done: the saga goes on with it, or undoes it) or stores a tombstone under the
key, atomically with its idempotency store, so a late copy of the call is refused (409).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import ValidationError

from saga_orchestrator.domain import (
    CancelCompensation,
    CancelStep,
    Compensation,
    Saga,
    SagaType,
    Step,
    check_not_started,
)
from saga_orchestrator.settings import SagaSettings
from shared.clock import utc_now
from shared.contracts import RoutingKey
from shared.contracts.calls import (
    CallAnswer,
    CallRequest,
    EventAnswer,
    FenceAnswer,
    PaymentAnswer,
    PaymentRequest,
    PaymentsAnswer,
    RefundRequest,
    ReinstateRequest,
    ReservationAnswer,
    ReservationCancelRequest,
    ReservationRequest,
    ReservationStatusRequest,
    SeatsRequest,
)
from shared.errors import EventStarted
from shared.http import TRANSIENT_STATUSES, Answer, ServiceClient, ServiceUnreachable
from shared.money import Money


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str | None = None
    uncertain: bool = False
    response: dict[str, Any] | None = None
    # saga columns learnt from the answer: reservation_id, payment_id
    fields: dict[str, Any] = field(default_factory=dict)


class EventNotFound(Exception):
    pass


class ReservationNotFound(Exception):
    pass


A = TypeVar("A", bound=CallAnswer)


def _read(model: type[A], response: Answer, what: str) -> A:
    """A success answer read through its call contract; ServiceUnreachable when it is not one
    (the participant answered something this saga cannot act on)."""
    try:
        return model.model_validate(response.json())
    except (ValueError, ValidationError) as exc:
        raise ServiceUnreachable(f"{what}: an answer outside its contract ({exc})") from None


def _body(response: Answer) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"text": response.text[:500]}
    return body if isinstance(body, dict) else {"items": body}


def _detail(response: Answer) -> str:
    body = _body(response)
    detail = body.get("detail") or body.get("message") or body.get("text") or ""
    return f"{response.status_code} {detail}".strip()


def _judged(status_code: int, body: dict[str, Any], what: str) -> Outcome:
    """A participant's answer: 2xx succeeded, 5xx (after retries) uncertain, 4xx refused."""
    detail = f"{status_code} {body.get('detail') or body.get('message') or body.get('text') or ''}".strip()
    if 200 <= status_code < 300:
        return Outcome(True, response=body)
    if status_code in TRANSIENT_STATUSES:
        return Outcome(False, f"{what}: {detail}", uncertain=True, response={"uncertain": True})
    return Outcome(False, f"{what}: {detail}", response=body)


def _answered(response: Answer, what: str) -> Outcome:
    return _judged(response.status_code, _body(response), what)


def _unreachable(what: str, exc: Exception) -> Outcome:
    return Outcome(False, f"{what}: no answer ({exc})", uncertain=True, response={"uncertain": True})


def key(saga_id: object, name: str) -> str:
    return f"{saga_id}:{name}"


@dataclass(frozen=True)
class Fence:
    """A participant's word on a call the saga gave up on: `done` false when the key is
    fenced (nothing was done under it, and a late copy will be refused), else the call's
    stored answer."""

    done: bool
    status_code: int = 0
    answer: dict[str, Any] = field(default_factory=dict)


class Participants:
    def __init__(self, settings: SagaSettings, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock

        def client(url: str) -> ServiceClient:
            return ServiceClient(
                url,
                timeout=settings.http_timeout_seconds,
                retries=settings.http_retries,
                backoff=settings.http_backoff_seconds,
                token=settings.service_token,
                raise_on_refused_token=True,
            )

        self.events = client(settings.event_service_url)
        self.reservations = client(settings.reservation_service_url)
        self.payments = client(settings.payment_service_url)

    @property
    def clients(self) -> list[ServiceClient]:
        return [self.events, self.reservations, self.payments]

    async def aclose(self) -> None:
        for c in (self.events, self.reservations, self.payments):
            await c.aclose()

    async def event(self, event_id: int) -> EventAnswer:
        """The event as its service answers it; EventNotFound, or ServiceUnreachable."""
        path = f"/api/events/{event_id}"
        response = await self.events.request("GET", path)
        if response.status_code == 404:
            raise EventNotFound(str(event_id))
        if not response.is_success:
            raise ServiceUnreachable(f"GET {path}: {_detail(response)}")
        return _read(EventAnswer, response, f"GET {path}")

    async def reservation(self, reservation_id: str) -> ReservationAnswer:
        """The reservation as its service answers it; ReservationNotFound, or ServiceUnreachable."""
        path = f"/api/reservations/{reservation_id}"
        response = await self.reservations.request("GET", path)
        if response.status_code in (400, 404, 422):
            raise ReservationNotFound(reservation_id)
        if not response.is_success:
            raise ServiceUnreachable(f"GET {path}: {_detail(response)}")
        return _read(ReservationAnswer, response, f"GET {path}")

    async def payments_of(self, reservation_id: str) -> list[PaymentAnswer]:
        """The reservation's payments (any status); ServiceUnreachable."""
        response = await self.payments.request(
            "GET", "/api/payments", params={"reservationId": reservation_id}
        )
        if not response.is_success:
            raise ServiceUnreachable(f"GET /api/payments?reservationId: {_detail(response)}")
        return _read(PaymentsAnswer, response, "GET /api/payments?reservationId").items

    # --- forward steps ---------------------------------------------------------------------

    async def run_step(self, step: str, saga: Saga) -> Outcome:
        if saga.type is SagaType.CANCELLATION:
            return await self._run_cancel_step(CancelStep(step), saga)
        return await self._run_booking_step(Step(step), saga)

    async def _run_booking_step(self, step: Step, saga: Saga) -> Outcome:
        try:
            if step == Step.RESERVE_SEATS:
                outcome = await self._reserve_seats(saga)
            elif step == Step.CREATE_RESERVATION:
                outcome = await self._create_reservation(saga)
            elif step == Step.PROCESS_PAYMENT:
                outcome = await self._process_payment(saga)
            else:
                return await self._confirm_reservation(saga)
        except ServiceUnreachable as exc:
            outcome = _unreachable(step, exc)
        if outcome.ok or "payment_id" in outcome.fields:
            return outcome  # done, or a payment that exists (a declined charge is final)
        if outcome.uncertain and step != Step.PROCESS_PAYMENT:
            # A booking or a reservation without an answer is settled by its compensation,
            # which fences it then (the saga compensates either way).
            return outcome
        return await self._settle(step, saga, outcome)

    async def _settle(self, step: Step, saga: Saga, outcome: Outcome) -> Outcome:
        """A step refused, or (a charge) without an answer: fence its key first. A refusal may
        follow an attempt that is still in flight (the client retried after a timeout), and
        silence proves nothing; the fence tells which, for good."""
        try:
            fence = await self.fence(step, saga)
        except ServiceUnreachable as exc:
            return _unreachable(step, exc)
        if fence.done:
            return self._step_outcome(step, fence.status_code, fence.answer)
        if outcome.uncertain:
            return Outcome(False, f"{step}: no answer, and its key is fenced: nothing was done, nor will be")
        return outcome

    def _step_outcome(self, step: Step, status_code: int, body: dict[str, Any]) -> Outcome:
        """What a step's answer (live, or stored and returned by a fence) means."""
        if step == Step.PROCESS_PAYMENT and 200 <= status_code < 300:
            return self._payment_outcome(body)
        outcome = _judged(status_code, body, step)
        if step == Step.CREATE_RESERVATION and outcome.ok:
            return Outcome(True, response=body, fields={"reservation_id": str(body["id"])})
        return outcome

    async def fence(self, step: Step, saga: Saga) -> Fence:
        """Fence the key of the step's call at its participant (see the module's docstring);
        ServiceUnreachable when the participant does not answer."""
        step_key = quote(key(saga.id, step), safe="")
        if step == Step.RESERVE_SEATS:
            client, path = self.events, f"/api/events/{saga.event_id}/book/fences/{step_key}"
        elif step == Step.CREATE_RESERVATION:
            client, path = self.reservations, f"/api/reservations/fences/{step_key}"
        else:
            client, path = self.payments, f"/api/payments/fences/{step_key}"
        response = await client.request("PUT", path)
        if not response.is_success:
            raise ServiceUnreachable(f"PUT {path}: {_detail(response)}")
        fence = _read(FenceAnswer, response, f"PUT {path}")
        if fence.fenced or fence.status_code is None:
            return Fence(False)
        return Fence(True, fence.status_code, dict(fence.answer or {}))

    async def _reserve_seats(self, saga: Saga) -> Outcome:
        # exercise SAGA2, level 2: begin
        response = await self.events.request(
            "POST",
            f"/api/events/{saga.event_id}/book",
            json=SeatsRequest(seats=saga.seats).wire(),
            idempotency_key=key(saga.id, Step.RESERVE_SEATS),
        )
        return self._step_outcome(Step.RESERVE_SEATS, response.status_code, _body(response))
        # exercise SAGA2, level 2: end

    async def _create_reservation(self, saga: Saga) -> Outcome:
        # exercise SAGA2, level 2: begin
        # exercise SAGA2: begin
        request = saga.request
        body = ReservationRequest.model_validate(
            {
                "eventId": saga.event_id,
                "userId": request["userId"],
                "userDetails": {
                    "name": request["userName"],
                    "email": request["userEmail"],
                    **({"phone": request["userPhone"]} if request.get("userPhone") else {}),
                },
                # The price this saga checked at its start and charges: the reservation's
                # total is then the amount paid.
                "bookingDetails": {
                    "seats": saga.seats,
                    "currency": saga.currency,
                    "ticketPrice": request["ticketPrice"],
                },
                "sagaId": str(saga.id),
            }
        )
        response = await self.reservations.request(
            "POST",
            "/api/reservations",
            json=body.wire(),
            idempotency_key=key(saga.id, Step.CREATE_RESERVATION),
        )
        return self._step_outcome(Step.CREATE_RESERVATION, response.status_code, _body(response))
        # exercise SAGA2: end
        # exercise SAGA2, level 2: end

    def _payment_outcome(self, payment: dict[str, Any]) -> Outcome:
        # exercise SAGA3, level 2: begin
        fields = {"payment_id": str(payment["id"])}
        if payment.get("status") == "completed":
            return Outcome(True, response=payment, fields=fields)
        if payment.get("status") == "failed":
            reason = payment.get("failureReason") or "declined"
            return Outcome(
                False, f"PROCESS_PAYMENT: payment declined: {reason}", response=payment, fields=fields
            )
        # pending or anything else: the payment service has not decided; ask again later
        return Outcome(
            False,
            f"PROCESS_PAYMENT: payment {payment.get('status')}",
            uncertain=True,
            response={"uncertain": True, **payment},
            fields=fields,
        )
        # exercise SAGA3, level 2: end

    async def _process_payment(self, saga: Saga) -> Outcome:
        # exercise SAGA3, level 2: begin
        if saga.amount == 0:
            return Outcome(True, response={"skipped": "a free event: nothing to charge"})
        # exercise SAGA3: begin
        response = await self.payments.request(
            "POST",
            "/api/payments",
            json=PaymentRequest(
                reservation_id=str(saga.reservation_id),
                user_id=saga.request["userId"],
                currency=saga.currency,
                amount=Money.of(saga.amount, saga.currency).amount,
                payment_method=saga.request["paymentMethod"],
            ).wire(),
            idempotency_key=key(saga.id, Step.PROCESS_PAYMENT),
        )
        return self._step_outcome(Step.PROCESS_PAYMENT, response.status_code, _body(response))
        # exercise SAGA3: end
        # exercise SAGA3, level 2: end

    async def _confirm_reservation(self, saga: Saga) -> Outcome:
        # exercise SAGA2, level 2: begin
        path = f"/api/reservations/{saga.reservation_id}"
        response = await self.reservations.request(
            "PUT",
            f"{path}/status",
            json=ReservationStatusRequest(status="confirmed", reason=f"saga {saga.id} paid").wire(),
            idempotency_key=key(saga.id, Step.CONFIRM_RESERVATION),
        )
        if response.status_code == 409:
            # A replay after a crash: the reservation may already be confirmed by us.
            current = await self.reservations.request("GET", path)
            if current.is_success and _read(ReservationAnswer, current, path).status == "confirmed":
                return Outcome(True, response=_body(current))
        return _answered(response, Step.CONFIRM_RESERVATION)
        # exercise SAGA2, level 2: end

    # --- compensations ---------------------------------------------------------------------

    async def run_compensation(
        self, compensation: str, saga: Saga, *, uncertain_seats: bool = False
    ) -> Outcome:
        """`uncertain_seats`: RESERVE_SEATS has no known outcome (it must be settled first)."""
        try:
            if compensation == CancelCompensation.REINSTATE_RESERVATION:
                return await self._reinstate(saga)
            if compensation == Compensation.REFUND:
                return await self._refund(saga)
            if compensation == Compensation.CANCEL_RESERVATION:
                return await self._cancel_reservation(saga)
            return await self._release_seats(saga, uncertain_seats)
        except ServiceUnreachable as exc:
            return _unreachable(compensation, exc)

    async def _refund(self, saga: Saga) -> Outcome:
        # exercise SAGA4, level 2: begin
        return await self._undo(
            saga,
            Step.PROCESS_PAYMENT,
            saga.payment_id,
            self.payments,
            "/api/payments",
            RefundRequest(reason=f"saga {saga.id} compensated"),
            Compensation.REFUND,
        )
        # exercise SAGA4, level 2: end

    async def _cancel_reservation(self, saga: Saga) -> Outcome:
        # exercise SAGA4, level 2: begin
        return await self._undo(
            saga,
            Step.CREATE_RESERVATION,
            saga.reservation_id,
            self.reservations,
            "/api/reservations",
            ReservationCancelRequest(reason=f"saga {saga.id} compensated"),
            Compensation.CANCEL_RESERVATION,
        )
        # exercise SAGA4, level 2: end

    async def _made_after_all(self, step: Step, saga: Saga) -> dict[str, Any] | None:
        """After the step's call got no answer: its key fenced, the stored answer of the call
        when it was done after all (what it made, to undo now), else None (nothing was made)."""
        fence = await self.fence(step, saga)
        return fence.answer if fence.done and 200 <= fence.status_code < 300 else None

    async def _undo(
        self,
        saga: Saga,
        made_by: Step,
        made_id: object,
        client: ServiceClient,
        collection: str,
        body: CallRequest,
        compensation: Compensation,
    ) -> Outcome:
        # exercise SAGA4, level 2: begin
        """POST {collection}/{id}/compensate under the compensation's key, for what `made_by`
        made (`made_id`, or None when its call got no answer: then its key is fenced first, so
        that what it made is either found and undone now, or never made). The outcome records
        the id as the saga's field (payment_id, reservation_id)."""
        thing = collection.removeprefix("/api/").removesuffix("s")
        if made_id is None:
            made = await self._made_after_all(made_by, saga)
            if made is None:
                return Outcome(True, response={"skipped": f"no {thing} was made, and its key is fenced"})
            made_id = made["id"]
        outcome = await self._post(client, f"{collection}/{made_id}/compensate", body, saga, compensation)
        fields = {f"{thing}_id": str(made_id)}
        return Outcome(outcome.ok, outcome.error, response=outcome.response, fields=fields)
        # exercise SAGA4, level 2: end

    async def _release_seats(self, saga: Saga, uncertain_seats: bool) -> Outcome:
        # exercise SAGA4, level 2: begin
        if uncertain_seats:
            # Releasing seats this saga never booked would hand out someone else's: fence the
            # booking's key first, so that it is either found (and released now) or refused if
            # it ever arrives.
            if await self._made_after_all(Step.RESERVE_SEATS, saga) is None:
                return Outcome(
                    True, response={"skipped": "no seats were booked, and the booking's key is fenced"}
                )
        return await self._release(saga, Compensation.RELEASE_SEATS)
        # exercise SAGA4, level 2: end

    async def _release(self, saga: Saga, name: str) -> Outcome:
        """The saga's seats given back, under the key of its call `name` (a compensation of
        the booking saga, a step of the cancellation saga)."""
        body = SeatsRequest(seats=saga.seats)
        return await self._post(self.events, f"/api/events/{saga.event_id}/release", body, saga, name)

    async def _post(
        self, client: ServiceClient, path: str, body: CallRequest, saga: Saga, name: str
    ) -> Outcome:
        """POST `body` to `path` under the key of the saga's call `name`; its answer judged as
        that call's outcome."""
        response = await client.request("POST", path, json=body.wire(), idempotency_key=key(saga.id, name))
        return _answered(response, name)

    # --- the cancellation saga -------------------------------------------------------------

    async def _run_cancel_step(self, step: CancelStep, saga: Saga) -> Outcome:
        try:
            if step is CancelStep.CANCEL_RESERVATION:
                return await self._cancel_booked(saga)
            if step is CancelStep.REFUND_PAYMENT:
                return await self._refund_payment(saga)
            if step is CancelStep.RELEASE_SEATS:
                return await self._release(saga, CancelStep.RELEASE_SEATS)
            # NOTIFY calls nobody: booking.cancelled is written to the outbox with its outcome.
            return Outcome(True, response={"queued": RoutingKey.BOOKING_CANCELLED.value})
        except ServiceUnreachable as exc:
            if step is CancelStep.REFUND_PAYMENT:
                return await self._settle_refund(saga, exc)
            return _unreachable(step, exc)

    def _reason(self, saga: Saga) -> str:
        asked = str(saga.request.get("reason") or "").strip()
        return f"cancellation saga {saga.id}" + (f": {asked}" if asked else "")

    async def _cancel_booked(self, saga: Saga) -> Outcome:
        # The event may have started while the saga waited: the boundary holds at this step too.
        try:
            event = await self.event(saga.event_id)
            check_not_started(
                saga.event_id, event.event_date, self.clock(), "its bookings can no longer be cancelled"
            )
        except EventNotFound:
            return Outcome(False, f"{CancelStep.CANCEL_RESERVATION}: event {saga.event_id} not found")
        except EventStarted as exc:
            return Outcome(False, f"{CancelStep.CANCEL_RESERVATION}: {exc.detail}")
        return await self._post(
            self.reservations,
            f"/api/reservations/{saga.reservation_id}/compensate",
            ReservationCancelRequest(reason=self._reason(saga), updated_by="saga"),
            saga,
            CancelStep.CANCEL_RESERVATION,
        )

    def _refund_outcome(self, payment: dict[str, Any]) -> Outcome:
        status = payment.get("status")
        if status == "refunded":
            return Outcome(True, response=payment)
        if status == "refund_failed":
            reason = payment.get("failureReason") or "refund refused by the provider"
            return Outcome(
                False,
                f"{CancelStep.REFUND_PAYMENT}: payment {payment.get('id')} not refunded: {reason}",
                response={**payment, "irreversible": True},
            )
        # completed (not refunded yet) or refunding: ask again under the same key
        return Outcome(
            False,
            f"{CancelStep.REFUND_PAYMENT}: payment {payment.get('id')} is {status}",
            uncertain=True,
            response={"uncertain": True, **payment},
        )

    async def _refund_payment(self, saga: Saga) -> Outcome:
        if saga.payment_id is None:
            return Outcome(True, response={"skipped": "a free event: nothing was paid"})
        response = await self.payments.request(
            "POST",
            f"/api/payments/{saga.payment_id}/compensate",
            json=RefundRequest(reason=self._reason(saga)).wire(),
            idempotency_key=key(saga.id, CancelStep.REFUND_PAYMENT),
        )
        if response.is_success:
            return self._refund_outcome(_body(response))
        if response.status_code in TRANSIENT_STATUSES:
            return await self._settle_refund(saga, ServiceUnreachable(_detail(response)))
        return _answered(response, CancelStep.REFUND_PAYMENT)

    async def _settle_refund(self, saga: Saga, exc: Exception) -> Outcome:
        """A refund whose answer was lost: the payment itself tells whether it was refunded."""
        try:
            response = await self.payments.request("GET", f"/api/payments/{saga.payment_id}")
        except ServiceUnreachable as again:
            return _unreachable(CancelStep.REFUND_PAYMENT, again)
        if not response.is_success:
            return _unreachable(CancelStep.REFUND_PAYMENT, exc)
        return self._refund_outcome(_body(response))

    async def _reinstate(self, saga: Saga) -> Outcome:
        # The cancel got no answer, or was undone: a late copy of it must not cancel the booking
        # this confirms again (the reservation refuses its key from now on).
        body = ReinstateRequest(
            reason=f"cancellation saga {saga.id} undone",
            fence_key=key(saga.id, CancelStep.CANCEL_RESERVATION),
        )
        path = f"/api/reservations/{saga.reservation_id}/reinstate"
        return await self._post(self.reservations, path, body, saga, CancelCompensation.REINSTATE_RESERVATION)
