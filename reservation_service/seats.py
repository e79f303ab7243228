"""The event service as this service sees it: the ticket price, and seats booked or released
under idempotency keys derived from the reservation id, so a retry never counts twice."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from shared.http import TOKEN_REFUSED, ServiceClient, ServiceUnreachable


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
            return EventServiceAnswer(Verdict.DONE, ticket_price=Decimal(str(body["ticketPrice"])))
        except (KeyError, TypeError, InvalidOperation):
            return EventServiceAnswer(Verdict.UNREACHABLE, "event service answered without a ticketPrice")

    async def book(self, event_id: int, reservation_id: str, seats: int) -> EventServiceAnswer:
        verdict, body = await self._call(
            "POST",
            f"/api/events/{event_id}/book",
            json={"seats": seats},
            idempotency_key=book_key(reservation_id),
        )
        return EventServiceAnswer(verdict, "" if verdict is Verdict.DONE else str(body))

    async def release(self, event_id: int, reservation_id: str, seats: int) -> EventServiceAnswer:
        verdict, body = await self._call(
            "POST",
            f"/api/events/{event_id}/release",
            json={"seats": seats},
            idempotency_key=release_key(reservation_id),
        )
        return EventServiceAnswer(verdict, "" if verdict is Verdict.DONE else str(body))
