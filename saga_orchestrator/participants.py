"""HTTP calls to the saga's participants (event, reservation and payment services).

Every call carries `Idempotency-Key: <sagaId>:<STEP>`, has a timeout and is retried with
backoff on transient errors (shared.http.ServiceClient). Each answer is turned into an
Outcome: succeeded, refused by the participant (a business answer: nothing was done), or
uncertain (no answer after every retry: the participant may have acted).
"""

from dataclasses import dataclass, field
from typing import Any

from saga_orchestrator.domain import Compensation, Saga, Step
from saga_orchestrator.settings import SagaSettings
from shared.http import TRANSIENT_STATUSES, Answer, ServiceClient, ServiceUnreachable


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


def _answered(response: Answer, what: str) -> Outcome:
    """A participant's answer: 2xx succeeded, 5xx (after retries) uncertain, 4xx refused."""
    if response.is_success:
        return Outcome(True, response=_body(response))
    if response.status_code in TRANSIENT_STATUSES:
        return Outcome(False, f"{what}: {_detail(response)}", uncertain=True, response={"uncertain": True})
    return Outcome(False, f"{what}: {_detail(response)}", response=_body(response))


def _unreachable(what: str, exc: Exception) -> Outcome:
    return Outcome(False, f"{what}: no answer ({exc})", uncertain=True, response={"uncertain": True})


def key(saga_id: object, name: str) -> str:
    return f"{saga_id}:{name}"


class Participants:
    def __init__(self, settings: SagaSettings) -> None:
        def client(url: str) -> ServiceClient:
            return ServiceClient(
                url,
                timeout=settings.http_timeout_seconds,
                retries=settings.http_retries,
                backoff=settings.http_backoff_seconds,
            )

        self.events = client(settings.event_service_url)
        self.reservations = client(settings.reservation_service_url)
        self.payments = client(settings.payment_service_url)

    async def aclose(self) -> None:
        for c in (self.events, self.reservations, self.payments):
            await c.aclose()

    async def event(self, event_id: int) -> dict[str, Any]:
        """The event as its service answers it; EventNotFound, or ServiceUnreachable."""
        response = await self.events.request("GET", f"/api/events/{event_id}")
        if response.status_code == 404:
            raise EventNotFound(str(event_id))
        if not response.is_success:
            raise ServiceUnreachable(f"GET /api/events/{event_id}: {_detail(response)}")
        return _body(response)

    # --- forward steps ---------------------------------------------------------------------

    async def run_step(self, step: Step, saga: Saga) -> Outcome:
        try:
            if step == Step.RESERVE_SEATS:
                return await self._reserve_seats(saga)
            if step == Step.CREATE_RESERVATION:
                return await self._create_reservation(saga)
            if step == Step.PROCESS_PAYMENT:
                return await self._process_payment(saga)
            return await self._confirm_reservation(saga)
        except ServiceUnreachable as exc:
            if step == Step.PROCESS_PAYMENT:
                return await self._settle_payment(saga)
            return _unreachable(step, exc)

    async def _reserve_seats(self, saga: Saga) -> Outcome:
        response = await self.events.request(
            "POST",
            f"/api/events/{saga.event_id}/book",
            json={"seats": saga.seats},
            idempotency_key=key(saga.id, Step.RESERVE_SEATS),
        )
        return _answered(response, Step.RESERVE_SEATS)

    async def _create_reservation(self, saga: Saga) -> Outcome:
        request = saga.request
        user_details = {"name": request["userName"], "email": request["userEmail"]}
        if request.get("userPhone"):
            user_details["phone"] = request["userPhone"]
        response = await self.reservations.request(
            "POST",
            "/api/reservations",
            json={
                "eventId": saga.event_id,
                "userId": request["userId"],
                "userDetails": user_details,
                # The price this saga checked at its start and charges: the reservation's
                # total is then the amount paid.
                "bookingDetails": {
                    "seats": saga.seats,
                    "currency": saga.currency,
                    "ticketPrice": request["ticketPrice"],
                },
                "sagaId": str(saga.id),
            },
            idempotency_key=key(saga.id, Step.CREATE_RESERVATION),
        )
        outcome = _answered(response, Step.CREATE_RESERVATION)
        if outcome.ok and outcome.response:
            return Outcome(
                True, response=outcome.response, fields={"reservation_id": str(outcome.response["id"])}
            )
        return outcome

    def _payment_outcome(self, payment: dict[str, Any]) -> Outcome:
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

    async def _process_payment(self, saga: Saga) -> Outcome:
        if saga.amount == 0:
            return Outcome(True, response={"skipped": "a free event: nothing to charge"})
        response = await self.payments.request(
            "POST",
            "/api/payments",
            json={
                "reservationId": saga.reservation_id,
                "userId": saga.request["userId"],
                "amount": float(saga.amount),
                "currency": saga.currency,
                "paymentMethod": saga.request["paymentMethod"],
            },
            idempotency_key=key(saga.id, Step.PROCESS_PAYMENT),
        )
        if response.is_success:
            return self._payment_outcome(_body(response))
        if response.status_code in TRANSIENT_STATUSES:
            return await self._settle_payment(saga)
        return _answered(response, Step.PROCESS_PAYMENT)

    async def _find_payment(self, saga: Saga) -> dict[str, Any] | None:
        response = await self.payments.request(
            "GET", "/api/payments", params={"idempotencyKey": key(saga.id, Step.PROCESS_PAYMENT)}
        )
        if not response.is_success:
            raise ServiceUnreachable(f"GET /api/payments?idempotencyKey: {_detail(response)}")
        body = response.json()
        items = body.get("items", []) if isinstance(body, dict) else body
        return items[0] if items else None

    async def _settle_payment(self, saga: Saga) -> Outcome:
        """A payment whose answer was lost is resolved by asking the payment service by
        idempotency key, not by guessing."""
        try:
            payment = await self._find_payment(saga)
        except ServiceUnreachable as exc:
            return _unreachable(Step.PROCESS_PAYMENT, exc)
        if payment is None:
            return Outcome(False, "PROCESS_PAYMENT: no answer, and no payment was made")
        return self._payment_outcome(payment)

    async def _confirm_reservation(self, saga: Saga) -> Outcome:
        path = f"/api/reservations/{saga.reservation_id}"
        response = await self.reservations.request(
            "PUT",
            f"{path}/status",
            json={"status": "confirmed", "reason": f"saga {saga.id} paid"},
            idempotency_key=key(saga.id, Step.CONFIRM_RESERVATION),
        )
        if response.status_code == 409:
            # A replay after a crash: the reservation may already be confirmed by us.
            current = await self.reservations.request("GET", path)
            if current.is_success and _body(current).get("status") == "confirmed":
                return Outcome(True, response=_body(current))
        return _answered(response, Step.CONFIRM_RESERVATION)

    # --- compensations ---------------------------------------------------------------------

    async def run_compensation(
        self, compensation: Compensation, saga: Saga, *, uncertain_seats: bool = False
    ) -> Outcome:
        """`uncertain_seats`: RESERVE_SEATS has no known outcome (it must be settled first)."""
        try:
            if compensation == Compensation.REFUND:
                return await self._refund(saga)
            if compensation == Compensation.CANCEL_RESERVATION:
                return await self._cancel_reservation(saga)
            return await self._release_seats(saga, uncertain_seats)
        except ServiceUnreachable as exc:
            return _unreachable(compensation, exc)

    async def _refund(self, saga: Saga) -> Outcome:
        payment_id = saga.payment_id
        if payment_id is None:
            payment = await self._find_payment(saga)
            if payment is None:
                return Outcome(True, response={"skipped": "no payment was made"})
            payment_id = payment["id"]
        response = await self.payments.request(
            "POST",
            f"/api/payments/{payment_id}/compensate",
            json={"reason": f"saga {saga.id} compensated"},
            idempotency_key=key(saga.id, Compensation.REFUND),
        )
        outcome = _answered(response, Compensation.REFUND)
        return Outcome(
            outcome.ok, outcome.error, response=outcome.response, fields={"payment_id": str(payment_id)}
        )

    async def _cancel_reservation(self, saga: Saga) -> Outcome:
        reservation_id = saga.reservation_id
        if reservation_id is None:
            # The create call got no answer: replaying it under its key either returns the
            # reservation it made, or makes it now; either way it is then cancelled.
            settled = await self._create_reservation(saga)
            if not settled.ok:
                if settled.uncertain:
                    raise ServiceUnreachable(settled.error or "reservation service")
                return Outcome(True, response={"skipped": "no reservation was made"})
            reservation_id = settled.fields["reservation_id"]
        response = await self.reservations.request(
            "POST",
            f"/api/reservations/{reservation_id}/compensate",
            json={"reason": f"saga {saga.id} compensated"},
            idempotency_key=key(saga.id, Compensation.CANCEL_RESERVATION),
        )
        outcome = _answered(response, Compensation.CANCEL_RESERVATION)
        return Outcome(
            outcome.ok,
            outcome.error,
            response=outcome.response,
            fields={"reservation_id": str(reservation_id)},
        )

    async def _release_seats(self, saga: Saga, uncertain_seats: bool) -> Outcome:
        if uncertain_seats:
            # Releasing seats this saga never booked would hand out someone else's: replay
            # the booking under its key first (it answers what it did, or does it now).
            settled = await self._reserve_seats(saga)
            if not settled.ok:
                if settled.uncertain:
                    raise ServiceUnreachable(settled.error or "event service")
                return Outcome(True, response={"skipped": "no seats were booked"})
        response = await self.events.request(
            "POST",
            f"/api/events/{saga.event_id}/release",
            json={"seats": saga.seats},
            idempotency_key=key(saga.id, Compensation.RELEASE_SEATS),
        )
        return _answered(response, Compensation.RELEASE_SEATS)
