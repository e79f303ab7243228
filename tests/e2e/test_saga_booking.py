"""The booking saga across the real services as processes (event, reservation, payment,
orchestrator): success, no seats, a declined charge, a participant stopped mid-saga, and the
orchestrator killed mid-saga. Every saga ends terminal and no seat, reservation or charge
leaks."""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.support import isolated_fleet

SERVICES = ["event_service", "reservation_service", "payment_service", "saga_orchestrator"]
TERMINAL = {"COMPLETED", "COMPENSATED", "COMPENSATION_FAILED"}


@pytest.fixture(scope="module")
def fleet():
    fleet = isolated_fleet()
    # Short leases so a killed orchestrator's sagas are taken over quickly; patient
    # compensations so a participant restarted within a minute is waited for.
    fleet.env.update(
        {
            "SAGA_LEASE_SECONDS": "3",
            "SAGA_COMPENSATION_ATTEMPTS": "40",
            "SAGA_COMPENSATION_RETRY_SECONDS": "0.2",
        }
    )
    try:
        fleet.start(SERVICES, quiet=True, wait=120)
        yield fleet
    finally:
        fleet.discard()


def _event(fleet, *, capacity: int = 100, price: float = 5000) -> dict[str, Any]:
    answer = httpx.post(
        f"{fleet.url('event_service')}/api/events",
        json={
            "name": "Concert e2e",
            "eventDate": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            "location": "Dakar",
            "category": "concert",
            "totalCapacity": capacity,
            "ticketPrice": price,
        },
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _start(fleet, event: dict[str, Any], seats: int) -> str:
    answer = httpx.post(
        f"{fleet.url('saga_orchestrator')}/api/saga/booking",
        json={
            "eventId": event["id"],
            "userId": "user-e2e",
            "userName": "Moussa Fall",
            "userEmail": "moussa@example.com",
            "seats": seats,
            "ticketPrice": event["ticketPrice"],
            "paymentMethod": "card",
        },
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["sagaId"])


def _saga(fleet, saga_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{fleet.url('saga_orchestrator')}/api/saga/{saga_id}", timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _wait(fleet, saga_id: str, statuses: set[str] = TERMINAL, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            saga = _saga(fleet, saga_id)
            if saga["status"] in statuses:
                return saga
        except httpx.TransportError:
            saga = {"status": "orchestrator down"}
        assert time.monotonic() < deadline, f"saga {saga_id} still {saga['status']}"
        time.sleep(0.1)


def _booked(fleet, event_id: int) -> int:
    return int(
        httpx.get(f"{fleet.url('event_service')}/api/events/{event_id}", timeout=10).json()["bookedSeats"]
    )


def _reservations(fleet, event_id: int) -> list[dict[str, Any]]:
    url = f"{fleet.url('reservation_service')}/api/reservations/event/{event_id}"
    return list(httpx.get(url, timeout=10).json()["items"])


def _payments(fleet, reservation_id: str) -> list[dict[str, Any]]:
    url = f"{fleet.url('payment_service')}/api/payments"
    return list(httpx.get(url, params={"reservationId": reservation_id}, timeout=10).json()["items"])


def _assert_settled(fleet, saga: dict[str, Any], event: dict[str, Any], seats: int) -> None:
    """A terminal saga leaves either a whole booking or nothing at all."""
    reservations = _reservations(fleet, event["id"])
    charges = [p for r in reservations for p in _payments(fleet, r["id"]) if p["status"] == "completed"]
    if saga["status"] == "COMPLETED":
        assert _booked(fleet, event["id"]) == seats
        assert [r["status"] for r in reservations] == ["confirmed"]
        assert len(charges) == 1 and Decimal(charges[0]["amount"]) == seats * Decimal(event["ticketPrice"])
    else:
        assert saga["status"] == "COMPENSATED", saga
        assert _booked(fleet, event["id"]) == 0
        assert all(r["status"] == "cancelled" for r in reservations), reservations
        assert charges == []


def test_a_booking_confirms_the_reservation_charges_once_and_books_the_seats(fleet):
    event = _event(fleet, price=5000)
    saga = _wait(fleet, _start(fleet, event, seats=2))
    assert saga["status"] == "COMPLETED", saga
    assert Decimal(saga["amount"]) == 10000
    _assert_settled(fleet, saga, event, seats=2)
    reservation = httpx.get(
        f"{fleet.url('reservation_service')}/api/reservations/{saga['reservationId']}", timeout=10
    ).json()
    assert reservation["sagaId"] == saga["sagaId"] and reservation["status"] == "confirmed"
    payment = httpx.get(f"{fleet.url('payment_service')}/api/payments/{saga['paymentId']}", timeout=10).json()
    assert payment["status"] == "completed"


def test_not_enough_seats_compensates_with_nothing_to_undo(fleet):
    event = _event(fleet, capacity=10)
    saga = _wait(fleet, _start(fleet, event, seats=50))
    assert saga["status"] == "COMPENSATED"
    assert [s["name"] for s in saga["steps"]] == ["RESERVE_SEATS"]
    assert _booked(fleet, event["id"]) == 0
    assert _reservations(fleet, event["id"]) == []


def test_a_charge_above_the_decline_limit_releases_seats_and_cancels_the_reservation(fleet):
    event = _event(fleet, price=600_000)
    saga = _wait(fleet, _start(fleet, event, seats=2))
    assert saga["status"] == "COMPENSATED", saga
    assert [s["name"] for s in saga["steps"] if s["kind"] == "compensation"] == [
        "CANCEL_RESERVATION",
        "RELEASE_SEATS",
    ]
    _assert_settled(fleet, saga, event, seats=2)
    payment = httpx.get(f"{fleet.url('payment_service')}/api/payments/{saga['paymentId']}", timeout=10).json()
    assert payment["status"] == "failed"


def test_a_payment_service_stopped_mid_saga_and_restarted_leaves_nothing_behind(fleet):
    event = _event(fleet, price=1000)
    fleet.stop(["payment_service"])
    try:
        saga_id = _start(fleet, event, seats=3)
        _wait(fleet, saga_id, {"COMPENSATING", *TERMINAL}, timeout=60)
    finally:
        fleet.start(["payment_service"], quiet=True, wait=60)
    saga = _wait(fleet, saga_id)
    _assert_settled(fleet, saga, event, seats=3)


def test_an_orchestrator_killed_mid_saga_is_resumed_after_restart(fleet):
    event = _event(fleet, price=1000)
    fleet.stop(["payment_service"])
    try:
        saga_id = _start(fleet, event, seats=1)
        _wait(fleet, saga_id, {"RUNNING", "COMPENSATING"}, timeout=30)
        fleet.kill("saga_orchestrator")
    finally:
        fleet.start(["payment_service"], quiet=True, wait=60)
    fleet.start(["saga_orchestrator"], quiet=True, wait=60)
    saga = _wait(fleet, saga_id)
    _assert_settled(fleet, saga, event, seats=1)
