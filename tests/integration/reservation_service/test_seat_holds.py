"""Direct reservations (no saga) book their own seats at the REAL event service, release them
exactly once, and never leak a seat when the event service is down or loses an answer."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI, Request, Response

from reservation_service import clients
from shared.clock import utc_now_ms
from tests.integration.reservation_service.harness import (
    booked_seats,
    create_event,
    drop_database,
    event_service,
    free_port,
    reservation_body,
    reservation_service,
    reservation_settings,
    served,
)
from tests.support import AS_FLEET, eventually, unique


async def test_a_direct_reservation_books_its_seats_at_the_price_of_the_event(client, event_url):
    event = await create_event(event_url, price="10.00")
    answer = await client.post("/api/reservations", json=reservation_body(event["id"], seats=3))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "pending" and body["seatHold"] == "held"
    assert body["bookingDetails"]["totalAmount"] == "30"  # a decimal string, in XOF's places
    assert await booked_seats(event_url, event["id"]) == 3


async def test_cancelling_releases_the_seats_exactly_once(client, event_url):
    event = await create_event(event_url)
    r = (await client.post("/api/reservations", json=reservation_body(event["id"], seats=4))).json()
    other = await client.post("/api/reservations", json=reservation_body(event["id"], seats=1))
    assert await booked_seats(event_url, event["id"]) == 5
    cancelled = await client.post(f"/api/reservations/{r['id']}/cancel", json={"reason": "changed my mind"})
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["seatHold"] == "released"
    assert await booked_seats(event_url, event["id"]) == 1
    again = await client.post(f"/api/reservations/{r['id']}/cancel")
    compensated = await client.post(f"/api/reservations/{r['id']}/compensate")
    assert again.status_code == compensated.status_code == 200
    assert await booked_seats(event_url, event["id"]) == 1  # not 0: released once
    assert other.json()["seatHold"] == "held"


async def test_a_refund_gives_the_seats_back(client, event_url):
    event = await create_event(event_url)
    r = (await client.post("/api/reservations", json=reservation_body(event["id"], seats=2))).json()
    await client.put(f"/api/reservations/{r['id']}/status", json={"status": "confirmed"})
    refunded = await client.put(f"/api/reservations/{r['id']}/status", json={"status": "refunded"})
    assert refunded.json()["seatHold"] == "released"
    assert await booked_seats(event_url, event["id"]) == 0


async def test_a_saga_reservation_neither_books_nor_releases(client, event_url):
    event = await create_event(event_url)
    r = await client.post(
        "/api/reservations", json=reservation_body(event["id"], seats=2, saga_id=unique("s"))
    )
    assert await booked_seats(event_url, event["id"]) == 0
    await client.post(f"/api/reservations/{r.json()['id']}/compensate")
    assert await booked_seats(event_url, event["id"]) == 0


async def test_refusals_cancel_the_reservation_with_the_reason(client, event_url):
    event = await create_event(event_url, capacity=10)
    too_many = await client.post("/api/reservations", json=reservation_body(event["id"], seats=50))
    assert too_many.status_code == 409
    assert too_many.headers["content-type"].startswith("application/problem+json")
    refused = (await client.get(f"/api/reservations/{too_many.json()['reservationId']}")).json()
    assert refused["status"] == "cancelled" and refused["seatHold"] == "refused"
    assert refused["timeline"][-1]["reason"].startswith("seats not booked")
    assert await booked_seats(event_url, event["id"]) == 0
    unknown = await client.post("/api/reservations", json=reservation_body(987654321))
    assert unknown.status_code == 404


async def test_a_refusal_is_the_final_answer_of_its_key(client, event_url):
    event = await create_event(event_url, capacity=10)
    body, key = reservation_body(event["id"], seats=50), {"Idempotency-Key": unique("key")}
    first = await client.post("/api/reservations", json=body, headers=key)
    again = await client.post("/api/reservations", json=body, headers=key)
    assert first.status_code == again.status_code == 409
    assert first.json()["reservationId"] == again.json()["reservationId"]
    listed = await client.get("/api/reservations", params={"eventId": event["id"]})
    assert listed.json()["total"] == 1


async def test_no_seat_leaks_while_the_event_service_is_down(tag):
    """The event service is down during the reservation: it ends cancelled, and once the
    event service is back, its bookedSeats is what it was."""
    port = free_port()
    settings = reservation_settings(unique("down"), f"http://127.0.0.1:{port}")
    try:
        async with reservation_service(settings) as (_, client):
            answer = await client.post("/api/reservations", json=reservation_body(1, seats=2))
            assert answer.status_code == 503
            r = (await client.get(f"/api/reservations/{answer.json()['reservationId']}")).json()
            assert r["status"] == "cancelled"
            async with event_service(tag, port=port) as url:
                event = await create_event(url)
                assert event["id"] == 1
                await client.post("/api/reservations", json=reservation_body(1, seats=1))
                assert await booked_seats(url, 1) == 1
                # The sweep has had every chance to act on the cancelled one: nothing moves.
                assert (await client.get(f"/api/reservations/{r['id']}")).json()["seatHold"] == "refused"
                assert await booked_seats(url, 1) == 1
    finally:
        await drop_database(settings.mongo_database)


@asynccontextmanager
async def answer_losing_proxy(target: str) -> AsyncIterator[tuple[str, dict[str, bool]]]:
    """Forwards everything to the event service; while `lose` is on, a book REACHES it but
    its answer is replaced by a 503: the nastiest case, seats taken and the caller unaware."""
    switch = {"lose": True}
    proxy = FastAPI()
    upstream = httpx.AsyncClient(base_url=target, timeout=10)

    @proxy.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
    async def forward(path: str, request: Request) -> Response:
        sent = await upstream.request(
            request.method,
            f"/{path}",
            content=await request.body(),
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
        )
        if switch["lose"] and path.endswith("/book"):
            return Response(status_code=503)
        return Response(
            sent.content, status_code=sent.status_code, media_type=sent.headers.get("content-type")
        )

    try:
        async with served(proxy, free_port()) as url:
            yield url, switch
    finally:
        await upstream.aclose()


async def test_a_lost_book_answer_is_resolved_by_key_and_released(event_url):
    event = await create_event(event_url)
    async with answer_losing_proxy(event_url) as (proxy_url, switch):
        settings = reservation_settings(unique("lost"), proxy_url)
        try:
            async with reservation_service(settings) as (_, client):
                answer = await client.post("/api/reservations", json=reservation_body(event["id"], seats=3))
                assert answer.status_code == 503
                rid = answer.json()["reservationId"]
                assert await booked_seats(event_url, event["id"]) == 3  # it landed
                switch["lose"] = False

                async def settled():
                    body = (await client.get(f"/api/reservations/{rid}")).json()
                    return body if body["seatHold"] == "released" else None

                body = await eventually(settled)
                assert body["status"] == "cancelled"
                assert await booked_seats(event_url, event["id"]) == 0
        finally:
            await drop_database(settings.mongo_database)


async def test_the_sweep_finishes_a_booking_whose_process_died(app, event_url):
    """A crash between "book sent" and "held": the document says requested, the seats are
    taken. The sweep cancels it and gives them back."""
    event = await create_event(event_url)
    store = app.state.store
    rid = "65f0a0a0a0a0a0a0a0a0a0a0"
    old = utc_now_ms() - timedelta(minutes=5)
    doc = {
        "id": rid,
        "eventId": event["id"],
        "userId": unique("user"),
        "userDetails": {"name": "Crash", "email": "crash@example.com", "phone": None},
        "bookingDetails": {"seats": 2, "totalAmount": None, "currency": "XOF"},
        "status": "pending",
        "seatHold": "requested",
        "announced": False,
        "timeline": [
            {"status": "pending", "timestamp": old, "reason": "seats requested", "updatedBy": "api"}
        ],
        "metadata": {},
        "version": 1,
        "createdAt": old,
        "updatedAt": old,
    }
    assert await store.insert(doc, None) is not None
    async with httpx.AsyncClient(base_url=event_url, headers=AS_FLEET) as http:
        landed = await http.post(
            f"/api/events/{event['id']}/book",
            json={"seats": 2},
            headers={"Idempotency-Key": clients.book_key(rid)},
        )
        assert landed.status_code == 200
        # The book's own answer: the sweep may already give the seats back before a later read.
        assert landed.json()["seatsBooked"] == 2

    async def released():
        found = await store.get(rid)
        return found if found["seatHold"] == "released" else None

    found = await eventually(released)
    assert found["status"] == "cancelled"
    assert await booked_seats(event_url, event["id"]) == 0
    assert datetime.now(UTC) > found["updatedAt"]
