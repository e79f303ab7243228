"""The other services as this one calls them, through the call contracts
(shared/contracts/calls.py).

The event service: the ticket price, and seats booked or released under idempotency keys
derived from the reservation id, so a retry never counts twice. The saga orchestrator: a
confirmed booking made by a saga is cancelled by a cancellation saga (it refunds the payment
and releases the seats), never by a status change alone."""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from shared.contracts.calls import CancellationRequest, EventAnswer, SeatsRequest
from shared.errors import Unavailable
from shared.http import TOKEN_REFUSED, TRANSIENT_STATUSES, ServiceClient, ServiceUnreachable


class Verdict(StrEnum):
    """How the event service answered a call: done, or why not."""

    DONE = "done"
    REFUSED = "refused"  # 409: not enough seats, or a rule of the event service
    NOT_FOUND = "not_found"
    INVALID = "invalid"  # 400/422: the event service found the request malformed
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class EventServiceAnswer:
    """The event service's verdict, its reason when not done, and the price a read found."""

    verdict: Verdict
    detail: str = ""
    ticket_price: Decimal | None = None


def book_key(reservation_id: str) -> str:
    return f"reservation:{reservation_id}:book"


def release_key(reservation_id: str) -> str:
    return f"reservation:{reservation_id}:release"


def _detail(body: Any, fallback: str) -> str:
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return str(body["detail"])
    return fallback


class EventSeats:
    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    async def _call(self, method: str, path: str, **kwargs: Any) -> tuple[Verdict, Any]:
        try:
            response = await self.client.request(method, path, **kwargs)
        except ServiceUnreachable as exc:
            return Verdict.UNREACHABLE, str(exc)
        try:
            body = response.json()
        except ValueError:
            body = None
        status = response.status_code
        if 200 <= status < 300:
            return Verdict.DONE, body
        if status == 404:
            return Verdict.NOT_FOUND, _detail(body, "event not found")
        if status == 409:
            return Verdict.REFUSED, _detail(body, "the event service refused the booking")
        if status in (400, 422):
            return Verdict.INVALID, _detail(body, "the event service refused the request")
        if status in TOKEN_REFUSED:
            # A configuration fault, not a refusal: the seats' request stays pending and the
            # sweep asks again once the tokens agree (/ready says so meanwhile).
            return Verdict.UNREACHABLE, f"event service answered {status}: it refuses our service token"
        return Verdict.UNREACHABLE, f"event service answered {status}"

    async def price(self, event_id: int) -> EventServiceAnswer:
        verdict, body = await self._call("GET", f"/api/events/{event_id}")
        if verdict is not Verdict.DONE:
            return EventServiceAnswer(verdict, str(body))
        try:
            event = EventAnswer.model_validate(body)
        except ValidationError:
            return EventServiceAnswer(Verdict.UNREACHABLE, "event service answered outside its contract")
        return EventServiceAnswer(Verdict.DONE, ticket_price=event.ticket_price)

    async def book(self, event_id: int, reservation_id: str, seats: int) -> EventServiceAnswer:
        return await self._move("book", event_id, seats, book_key(reservation_id))

    async def release(self, event_id: int, reservation_id: str, seats: int) -> EventServiceAnswer:
        return await self._move("release", event_id, seats, release_key(reservation_id))

    async def _move(self, action: str, event_id: int, seats: int, key: str) -> EventServiceAnswer:
        verdict, body = await self._call(
            "POST",
            f"/api/events/{event_id}/{action}",
            json=SeatsRequest(seats=seats).wire(),
            idempotency_key=key,
        )
        return EventServiceAnswer(verdict, "" if verdict is Verdict.DONE else str(body))


# --- the saga orchestrator ------------------------------------------------------------------


@dataclass(frozen=True)
class SagaAnswer:
    """The orchestrator's answer: 202 with the saga's id, or its refusal (problem+json)."""

    status_code: int
    body: dict[str, Any]


def cancel_key(reservation_id: str, version: int, client_key: str | None) -> str:
    # The client's key when it gave one; else one per version of the reservation, so a retry
    # before the saga's first step finds the same saga.
    if client_key:
        return f"reservation-cancel:{client_key}"
    return f"reservation-cancel:{reservation_id}:v{version}"


class Orchestrator:
    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    async def cancel(self, reservation_id: str, reason: str, key: str) -> SagaAnswer:
        try:
            response = await self.client.request(
                "POST",
                "/api/saga/cancellation",
                json=CancellationRequest(reservation_id=reservation_id, reason=reason).wire(),
                idempotency_key=key,
            )
        except ServiceUnreachable as exc:
            raise Unavailable(
                f"The saga orchestrator cannot be reached; nothing was cancelled ({exc})."
            ) from None
        if response.status_code in TRANSIENT_STATUSES:
            raise Unavailable("The saga orchestrator cannot start the cancellation now; retry.")
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text[:500]}
        return SagaAnswer(response.status_code, body if isinstance(body, dict) else {"items": body})
