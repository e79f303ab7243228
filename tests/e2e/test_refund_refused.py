"""A refund the payment provider refuses, across the real services (the simulated provider
set to refuse refunds above 50,000 XOF): the cancellation saga brings the booking back (the
reservation confirmed again, its seats kept), ends COMPENSATION_FAILED with the reason, and
`fleet check` reports it (never a silent half-cancel); a smaller booking of the same fleet is
cancelled as usual."""

from typing import Any

import pytest

from tests.chaos.tools import FAST, ChaosFleet
from tests.support import isolated_fleet


@pytest.fixture(scope="module")
def fleet():
    fleet = isolated_fleet()
    fleet.env.update(
        {**FAST, "PAYMENT_REFUSE_REFUNDS_ABOVE": "50000", "SAGA_COMPENSATION_RETRY_SECONDS": "0.2"}
    )
    try:
        fleet.start(quiet=True, wait=150)
    except BaseException:
        fleet.discard()
        raise
    chaos = ChaosFleet(fleet)
    try:
        yield chaos
    finally:
        chaos.close()


def _booked(fleet: ChaosFleet, event: dict[str, Any], seats: int) -> dict[str, Any]:
    (saga,) = fleet.wait_sagas([fleet.start_saga(fleet.booking(event, seats=seats))])
    assert saga["status"] == "COMPLETED", saga
    return saga


def _cancel(fleet: ChaosFleet, saga: dict[str, Any]) -> dict[str, Any]:
    url = f"{fleet.url('reservation_service')}/api/reservations/{saga['reservationId']}/cancel"
    answer = fleet.http.post(url, json={"reason": "plans changed"})
    assert answer.status_code == 202, answer.text
    (cancellation,) = fleet.wait_sagas([answer.json()["sagaId"]])
    return cancellation


def test_a_refused_refund_reinstates_the_booking_and_is_reported(fleet):
    event = fleet.create_event(capacity=100, price=30000)
    small, large = _booked(fleet, event, seats=1), _booked(fleet, event, seats=2)  # 30,000 and 60,000

    assert _cancel(fleet, small)["status"] == "COMPLETED"
    refused = _cancel(fleet, large)
    assert refused["status"] == "COMPENSATION_FAILED", refused
    assert "Refund refused by the provider" in refused["error"] and "confirmed again" in refused["error"]
    assert [(s["name"], s["status"]) for s in refused["steps"]] == [
        ("CANCEL_RESERVATION", "succeeded"),
        ("REFUND_PAYMENT", "failed"),
        ("REINSTATE_RESERVATION", "succeeded"),
    ]
    reservation = fleet.http.get(
        f"{fleet.url('reservation_service')}/api/reservations/{large['reservationId']}"
    ).json()
    assert reservation["status"] == "confirmed"
    assert fleet.event(event["id"])["bookedSeats"] == 2  # the large booking's seats stay taken
    payment = fleet.http.get(f"{fleet.url('payment_service')}/api/payments/{large['paymentId']}").json()
    assert payment["status"] == "refund_failed"

    report = fleet.check()
    flagged = {(p.check, p.subject) for p in report.problems}
    assert flagged == {
        ("sagas", f"saga {refused['sagaId']}"),
        ("payments", f"reservation {large['reservationId']}"),
    }, report.table()
