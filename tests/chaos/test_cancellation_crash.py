"""The orchestrator killed (SIGKILL) while cancellation sagas run: the restarted one finishes
every cancellation from its log; each booking ends cancelled, refunded once and its seats
released, and `fleet check` is clean."""

from typing import Any

from tests.chaos.tools import ChaosFleet


def _cancel(chaos: ChaosFleet, saga: dict[str, Any]) -> str:
    answer = chaos.http.post(
        f"{chaos.url('saga_orchestrator')}/api/saga/cancellation",
        json={"reservationId": saga["reservationId"], "reason": "chaos", "userId": saga["userId"]},
        headers={"Idempotency-Key": f"chaos-cancel-{saga['sagaId']}"},
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["sagaId"])


def test_cancellations_survive_an_orchestrator_killed_mid_flight(chaos: ChaosFleet):
    event = chaos.create_event(capacity=400, price=2500)
    booked = chaos.wait_sagas(chaos.start_sagas([chaos.booking(event, seats=1 + n % 3) for n in range(12)]))
    assert all(s["status"] == "COMPLETED" for s in booked), [s["status"] for s in booked]
    cancel_ids = [_cancel(chaos, saga) for saga in booked]

    chaos.fleet.kill("saga_orchestrator")
    chaos.fleet.start(["saga_orchestrator"], quiet=True)

    cancelled = chaos.wait_sagas(cancel_ids)
    assert {s["status"] for s in cancelled} == {"COMPLETED"}, [(s["status"], s["error"]) for s in cancelled]
    assert chaos.event(event["id"])["bookedSeats"] == 0
    for saga in booked:
        url = f"{chaos.url('payment_service')}/api/payments"
        payments = chaos.http.get(url, params={"reservationId": saga["reservationId"]}).json()["items"]
        assert [p["status"] for p in payments] == ["refunded"], payments
    # The same keys after the restart find the same sagas: nothing is refunded twice.
    assert [_cancel(chaos, saga) for saga in booked] == cancel_ids
    chaos.assert_consistent()
