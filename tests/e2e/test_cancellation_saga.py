"""The cancellation saga across the seven services as processes: a completed booking
cancelled through the reservation service ends with its seats released, its payment
refunded, the analytics equal to the event service, the user told and `fleet check` clean;
a cancel retried with the same key refunds once; cancellations racing bookings of the same
event never oversell; the event's date bounds booking (at the saga's start and at the event
service) and cancellation."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.chaos.tools import ChaosFleet, start_chaos_fleet, wait_until


@pytest.fixture(scope="module")
def fleet():
    chaos = start_chaos_fleet()
    try:
        yield chaos
    finally:
        chaos.close()


def _completed_booking(fleet: ChaosFleet, event: dict[str, Any], seats: int = 2) -> dict[str, Any]:
    (saga,) = fleet.wait_sagas([fleet.start_saga(fleet.booking(event, seats=seats))])
    assert saga["status"] == "COMPLETED", saga
    return saga


def _cancel_at_the_reservation(fleet: ChaosFleet, reservation_id: str, **headers: str) -> httpx.Response:
    return fleet.http.post(
        f"{fleet.url('reservation_service')}/api/reservations/{reservation_id}/cancel",
        json={"reason": "cannot come"},
        headers=headers,
    )


def _payments(fleet: ChaosFleet, reservation_id: str) -> list[dict[str, Any]]:
    url = f"{fleet.url('payment_service')}/api/payments"
    return list(fleet.http.get(url, params={"reservationId": reservation_id}).json()["items"])


def _history(fleet: ChaosFleet, stream: str) -> list[dict[str, Any]]:
    answer = fleet.http.get(f"{fleet.url('event_store_service')}/api/aggregates/{stream}/history")
    return list(answer.json().get("events", [])) if answer.status_code == 200 else []


def test_a_completed_booking_cancelled_releases_refunds_and_every_read_model_follows(fleet):
    event = fleet.create_event(capacity=100, price=5000)
    booked = _completed_booking(fleet, event)
    answer = _cancel_at_the_reservation(fleet, booked["reservationId"])
    assert answer.status_code == 202, answer.text
    (saga,) = fleet.wait_sagas([answer.json()["sagaId"]])
    assert saga["status"] == "COMPLETED", saga
    assert saga["type"] == "cancellation"
    assert [s["name"] for s in saga["steps"]] == [
        "CANCEL_RESERVATION",
        "REFUND_PAYMENT",
        "RELEASE_SEATS",
        "NOTIFY",
    ]
    assert fleet.event(event["id"])["bookedSeats"] == 0
    reservation = fleet.http.get(
        f"{fleet.url('reservation_service')}/api/reservations/{booked['reservationId']}"
    ).json()
    assert reservation["status"] == "cancelled"
    assert [p["status"] for p in _payments(fleet, booked["reservationId"])] == ["refunded"]

    def told() -> list[dict[str, Any]]:
        url = f"{fleet.url('notification_service')}/api/notifications/user/{booked['userId']}"
        items = fleet.http.get(url).json()["items"]
        return [n for n in items if n["type"] == "booking.cancelled" and n["status"] == "sent"]

    (note,) = wait_until(told, 30, "the cancellation notification")
    assert note["relatedIds"]["reservationId"] == booked["reservationId"]

    def analytics_follows() -> bool:
        url = f"{fleet.url('analytics_service')}/api/analytics/events/{event['id']}"
        doc = fleet.http.get(url).json()
        return (
            doc.get("bookedSeats") == 0
            and float(doc.get("revenue") or 0) == 0
            and doc.get("confirmedReservations") == 0
        )

    wait_until(analytics_follows, 30, "analytics without the cancelled seats and revenue")
    recorded = wait_until(lambda: _history(fleet, f"SAGA-{saga['sagaId']}"), 30, "the saga's stream")
    assert [e["eventType"] for e in recorded] == ["booking.cancelled"]
    fleet.assert_consistent()


def test_a_cancel_retried_with_the_same_key_refunds_once(fleet):
    event = fleet.create_event(capacity=100, price=3000)
    booked = _completed_booking(fleet, event, seats=1)
    key = f"cancel-{uuid.uuid4()}"
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda _: _cancel_at_the_reservation(
                    fleet, booked["reservationId"], **{"Idempotency-Key": key}
                ),
                range(4),
            )
        )
    assert {a.status_code for a in answers} == {202}, [a.text for a in answers]
    saga_ids = {a.json()["sagaId"] for a in answers}
    assert len(saga_ids) == 1
    (saga,) = fleet.wait_sagas(list(saga_ids))
    assert saga["status"] == "COMPLETED"
    # Once cancelled, the same call answers the cancelled reservation (nothing more happens).
    again = _cancel_at_the_reservation(fleet, booked["reservationId"], **{"Idempotency-Key": key})
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    (payment,) = _payments(fleet, booked["reservationId"])
    assert payment["status"] == "refunded"

    def refunds() -> list[dict[str, Any]]:
        events = _history(fleet, f"PAYMENT-{payment['id']}")
        return [e for e in events if e["eventType"] == "payment.refunded"] if len(events) >= 2 else []

    assert len(wait_until(refunds, 30, "the payment's stream")) == 1
    fleet.assert_consistent()


def test_cancellations_racing_bookings_of_the_same_event_never_oversell(fleet):
    event = fleet.create_event(capacity=20, price=1000)  # 19 seats for sale (DB1 margin)
    first = [_completed_booking(fleet, event, seats=6) for _ in range(3)]  # 18 sold
    assert fleet.event(event["id"])["bookedSeats"] == 18
    peak = 0

    def watch() -> None:
        nonlocal peak
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            peak = max(peak, fleet.event(event["id"])["bookedSeats"])
            time.sleep(0.02)

    with ThreadPoolExecutor(8) as pool:
        watcher = pool.submit(watch)
        cancels = [pool.submit(_cancel_at_the_reservation, fleet, b["reservationId"]) for b in first]
        bookings = [pool.submit(fleet.start_saga, fleet.booking(event, seats=6)) for _ in range(4)]
        cancel_ids = [c.result().json()["sagaId"] for c in cancels]
        booking_ids = [b.result() for b in bookings]
        sagas = fleet.wait_sagas(cancel_ids + booking_ids)
        watcher.result()
    assert all(s["status"] == "COMPLETED" for s in sagas[:3]), sagas[:3]
    completed = sum(6 for s in sagas[3:] if s["status"] == "COMPLETED")
    assert {s["status"] for s in sagas[3:]} <= {"COMPLETED", "COMPENSATED"}
    assert peak <= 19
    assert fleet.event(event["id"])["bookedSeats"] == completed <= 19
    fleet.assert_consistent()


def _move_into_the_past(fleet: ChaosFleet, event_id: int) -> None:
    url = make_url(fleet.fleet.env["EVENT_DATABASE_URL"]).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
        conn.execute(
            "UPDATE events SET event_date = %s WHERE id = %s",
            (datetime.now(UTC) - timedelta(minutes=5), event_id),
        )


def test_a_started_event_is_neither_booked_nor_cancelled(fleet):
    event = fleet.create_event(capacity=50, price=2000)
    booked = _completed_booking(fleet, event, seats=1)
    _move_into_the_past(fleet, event["id"])
    start = fleet.http.post(
        f"{fleet.url('saga_orchestrator')}/api/saga/booking", json=fleet.booking(event, seats=1)
    )
    assert start.status_code == 409 and start.json()["errors"][0]["field"] == "eventDate"
    rest1 = fleet.http.post(f"{fleet.url('event_service')}/api/events/{event['id']}/book", json={"seats": 1})
    assert rest1.status_code == 409 and rest1.json()["errors"][0]["field"] == "eventDate"
    late = _cancel_at_the_reservation(fleet, booked["reservationId"])
    assert late.status_code == 409 and late.json()["errors"][0]["field"] == "eventDate"
    assert fleet.event(event["id"])["bookedSeats"] == 1
    assert [p["status"] for p in _payments(fleet, booked["reservationId"])] == ["completed"]
    fleet.assert_consistent()
