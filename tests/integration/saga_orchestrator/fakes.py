"""Fake participants for the saga's integration tests: the event, reservation and payment
routes of the participant contract in one small in-memory app served by uvicorn on a free
port. Keyed calls replay their first answer, as the real services do. A test can make a
route fail (500), refuse (409) or hang until released, and reads every call made."""

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response

from tests.support import serving

DECLINE_ABOVE = 1_000_000


@dataclass
class Call:
    route: str
    key: str | None
    body: Any


@dataclass(frozen=True)
class Span:
    """One request as the fakes served it: its path, Idempotency-Key, and when it came in and
    was answered (time.time(): comparable with the services' timestamps on this machine)."""

    path: str
    key: str | None
    start: float
    end: float


@dataclass
class Fakes:
    url: str = ""
    events: dict[int, dict[str, Any]] = field(default_factory=dict)
    reservations: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    answers: dict[str, tuple[int, Any]] = field(default_factory=dict)
    fenced: set[str] = field(default_factory=set)  # keys given up on (their answer: a 409)
    calls: list[Call] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    # route -> "error" (500) | "refuse" (409) | "hang" (wait for `unhang`) | "lost" (acts,
    # then answers 500 as if the answer was lost on the way back) | "unauthorized" (401, as a
    # participant refusing the orchestrator's token; once it has refused a call, GET
    # /auth/check answers 401 too: a token that went bad after the orchestrator's start-up
    # check, which a test sets up before the app starts without racing that check)
    modes: dict[str, str] = field(default_factory=dict)
    token_refused: bool = False
    unhang: asyncio.Event = field(default_factory=asyncio.Event)
    # The provider refuses refunds: a refund leaves the payment refund_failed (answered 200).
    refuse_refunds: bool = False

    def add_event(self, event_id: int, *, price: float = 5000, capacity: int = 100) -> None:
        self.events[event_id] = {
            "id": event_id,
            "ticketPrice": str(price),  # money as the real service writes it: a decimal string
            "totalCapacity": capacity,
            "bookedSeats": 0,
            "eventDate": "2031-06-01T20:00:00Z",
        }

    def routes(self, *, keyed_only: bool = False) -> list[str]:
        return [c.route for c in self.calls if c.key or not keyed_only]

    def keys(self) -> list[str | None]:
        return [c.key for c in self.calls]


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse(
        {"status": status, "detail": detail}, status_code=status, media_type="application/problem+json"
    )


def build_app(fakes: Fakes) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def timed(request: Request, call_next: Any) -> Any:
        start = time.time()
        response = await call_next(request)
        key = request.headers.get("Idempotency-Key")
        fakes.spans.append(Span(request.url.path, key, start, time.time()))
        return response

    async def enter(route: str, key: str | None, body: Any) -> JSONResponse | None:
        """Record the call; apply the route's failure mode; replay a keyed answer."""
        fakes.calls.append(Call(route, key, body))
        mode = fakes.modes.get(route)
        if mode == "hang":
            await fakes.unhang.wait()
        elif mode == "error":
            return _problem(500, "fake failure")
        elif mode == "refuse":
            return _problem(409, "fake refusal")
        elif mode == "unauthorized":
            fakes.token_refused = True
            return _problem(401, "This endpoint is internal: it needs `Authorization: Bearer <token>`.")
        if key and key in fakes.answers:
            if mode == "lost":
                return _problem(500, "answer lost")
            status, answer = fakes.answers[key]
            return JSONResponse(answer, status_code=status)
        return None

    def answer(route: str, key: str | None, status: int, body: Any) -> JSONResponse:
        if key:
            fakes.answers[key] = (status, body)
        if fakes.modes.get(route) == "lost":
            return _problem(500, "answer lost")
        return JSONResponse(body, status_code=status)

    @app.get("/auth/check")
    async def auth_check() -> Response:
        if fakes.token_refused and "unauthorized" in fakes.modes.values():
            return _problem(401, "This endpoint is internal: it needs `Authorization: Bearer <token>`.")
        return Response(status_code=204)

    @app.get("/api/events/{event_id}")
    async def get_event(event_id: int) -> JSONResponse:
        if (early := await enter("get_event", None, None)) is not None:
            return early
        if event_id not in fakes.events:
            return _problem(404, "Event not found")
        return JSONResponse(fakes.events[event_id])

    @app.post("/api/events/{event_id}/book")
    async def book(event_id: int, request: Request, key: str | None = Header(None, alias="Idempotency-Key")):
        body = await request.json()
        if (early := await enter("book", key, body)) is not None:
            return early
        event = fakes.events.get(event_id)
        if event is None:
            return answer("book", key, 404, {"detail": "Event not found"})
        if event["bookedSeats"] + body["seats"] > event["totalCapacity"]:
            return answer("book", key, 409, {"detail": "Could not book seats. Not enough availability."})
        event["bookedSeats"] += body["seats"]
        return answer("book", key, 200, {"success": True, "eventId": event_id, "seatsBooked": body["seats"]})

    @app.post("/api/events/{event_id}/release")
    async def release(
        event_id: int, request: Request, key: str | None = Header(None, alias="Idempotency-Key")
    ):
        body = await request.json()
        if (early := await enter("release", key, body)) is not None:
            return early
        fakes.events[event_id]["bookedSeats"] -= body["seats"]
        return answer(
            "release", key, 200, {"success": True, "eventId": event_id, "seatsReleased": body["seats"]}
        )

    @app.post("/api/reservations")
    async def create_reservation(request: Request, key: str | None = Header(None, alias="Idempotency-Key")):
        body = await request.json()
        if (early := await enter("create_reservation", key, body)) is not None:
            return early
        event = fakes.events[body["eventId"]]
        # As the real service: the price the saga states, else the event's.
        details = dict(body["bookingDetails"])
        price = details.pop("ticketPrice", event["ticketPrice"])
        reservation = {
            "id": uuid.uuid4().hex[:24],
            **body,
            "bookingDetails": {**details, "totalAmount": str(Decimal(str(price)) * details["seats"])},
            "status": "pending",
        }
        fakes.reservations[reservation["id"]] = reservation
        return answer("create_reservation", key, 201, reservation)

    @app.get("/api/reservations/{reservation_id}")
    async def get_reservation(reservation_id: str):
        if reservation_id not in fakes.reservations:
            return _problem(404, "Reservation not found")
        return JSONResponse(fakes.reservations[reservation_id])

    @app.post("/api/reservations/{reservation_id}/reinstate")
    async def reinstate(
        reservation_id: str, request: Request, key: str | None = Header(None, alias="Idempotency-Key")
    ):
        body = await request.json()
        if (early := await enter("reinstate", key, body)) is not None:
            return early
        reservation = fakes.reservations[reservation_id]
        if reservation["status"] == "cancelled":
            reservation["status"] = "confirmed"
        return JSONResponse(reservation)

    @app.put("/api/reservations/{reservation_id}/status")
    async def confirm(
        reservation_id: str, request: Request, key: str | None = Header(None, alias="Idempotency-Key")
    ):
        body = await request.json()
        if (early := await enter("confirm", key, body)) is not None:
            return early
        reservation = fakes.reservations[reservation_id]
        if reservation["status"] != "pending":
            return _problem(409, f"{reservation['status']} -> {body['status']}")
        reservation["status"] = body["status"]
        return JSONResponse(reservation)

    @app.post("/api/reservations/{reservation_id}/compensate")
    async def cancel(
        reservation_id: str, request: Request, key: str | None = Header(None, alias="Idempotency-Key")
    ):
        body = await request.json()
        if (early := await enter("cancel_reservation", key, body)) is not None:
            return early
        reservation = fakes.reservations[reservation_id]
        reservation["status"] = "cancelled"
        return JSONResponse(reservation)

    @app.post("/api/payments")
    async def pay(request: Request, key: str | None = Header(None, alias="Idempotency-Key")):
        body = await request.json()
        if (early := await enter("pay", key, body)) is not None:
            return early
        declined = Decimal(str(body["amount"])) > DECLINE_ABOVE
        payment = {
            "id": len(fakes.payments) + 1,
            **body,
            "status": "failed" if declined else "completed",
            "failureReason": f"amount above {DECLINE_ABOVE}" if declined else None,
            "idempotencyKey": key,
        }
        fakes.payments[str(payment["id"])] = payment
        return answer("pay", key, 201, payment)

    async def fence(route: str, key: str) -> JSONResponse:
        """As the real services: the call's stored answer, else a tombstone under its key
        (a late copy of the call then replays a 409)."""
        if (early := await enter(f"fence_{route}", None, key)) is not None:
            return early
        if key in fakes.answers and key not in fakes.fenced:
            status, body = fakes.answers[key]
            return JSONResponse(
                {"idempotencyKey": key, "fenced": False, "statusCode": status, "answer": body}
            )
        fakes.fenced.add(key)
        fakes.answers[key] = (409, {"status": 409, "detail": f"Idempotency-Key '{key}' was fenced"})
        return JSONResponse({"idempotencyKey": key, "fenced": True})

    @app.put("/api/events/{event_id}/book/fences/{key}")
    async def fence_book(event_id: int, key: str):
        return await fence("book", key)

    @app.put("/api/reservations/fences/{key}")
    async def fence_create_reservation(key: str):
        return await fence("create_reservation", key)

    @app.put("/api/payments/fences/{key}")
    async def fence_pay(key: str):
        return await fence("pay", key)

    @app.get("/api/payments")
    async def payments_of(request: Request):
        wanted = request.query_params.get("reservationId")
        if (early := await enter("payments_of", None, wanted)) is not None:
            return early
        items = [p for p in fakes.payments.values() if p["reservationId"] == wanted]
        return JSONResponse({"items": items, "total": len(items), "page": 1, "size": 20})

    @app.post("/api/payments/{payment_id}/compensate")
    async def refund(
        payment_id: str, request: Request, key: str | None = Header(None, alias="Idempotency-Key")
    ):
        body = await request.json()
        if (early := await enter("refund", key, body)) is not None:
            return early
        payment = fakes.payments[payment_id]
        if payment["status"] == "completed" and fakes.refuse_refunds:
            payment["status"], payment["failureReason"] = "refund_failed", "Refund refused by the provider"
        elif payment["status"] == "completed":
            payment["status"] = "refunded"
        return answer("refund", key, 200, payment)

    @app.get("/api/payments/{payment_id}")
    async def get_payment(payment_id: str):
        if payment_id not in fakes.payments:
            return _problem(404, "Payment not found")
        return JSONResponse(fakes.payments[payment_id])

    return app


@contextlib.asynccontextmanager
async def serve_fakes() -> AsyncIterator[Fakes]:
    fakes = Fakes()
    async with serving(build_app(fakes)) as url:
        fakes.url = url
        try:
            yield fakes
        finally:
            fakes.unhang.set()  # before the server stops: it waits for requests in progress
