"""Engines stopped under the fleet for a short window, and ALWAYS started again (other test
runs share them): RabbitMQ (outbox + deduplicating consumers: nothing lost, nothing twice), Redis (payments
served from PostgreSQL, nothing stale afterwards), the MongoDB-wire server and the search node
(`/ready` says 503 while down, services recover by themselves, read models converge)."""

import threading
import time
import uuid
from typing import Any

import httpx

from tests.chaos.tools import ChaosFleet, engine_down, rabbitmq_app_stopped, wait_until

CLEAN = {200, 201, 202, 404, 409, 422, 503}


def _call(chaos: ChaosFleet, method: str, url: str, **kwargs: Any) -> httpx.Response:
    answer = chaos.http.request(method, url, **kwargs)
    # Refused cleanly or done: never a 500, never a hang (the client timeout would raise).
    assert answer.status_code in CLEAN, f"{method} {url} -> {answer.status_code} {answer.text[:300]}"
    return answer


def test_writes_while_rabbitmq_is_down_reach_every_read_model_once(chaos: ChaosFleet):
    event = chaos.create_event(capacity=200, price=2000)
    bookings = [chaos.booking(event, seats=1 + n % 2) for n in range(6)]
    with rabbitmq_app_stopped():
        created = [chaos.create_event(capacity=50, price=500, name="Written while the broker is down")]
        saga_ids = chaos.start_sagas(bookings)
        direct = _call(
            chaos,
            "POST",
            f"{chaos.url('reservation_service')}/api/reservations",
            json={
                "eventId": created[0]["id"],
                "userId": "direct-user",
                "userDetails": {"name": "Moussa Diop", "email": "moussa@example.sn"},
                "bookingDetails": {"seats": 3},
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert direct.status_code == 201
        # The sagas finish without the broker: their messages wait in the outboxes.
        sagas = chaos.wait_sagas(saga_ids)
    assert {s["status"] for s in sagas} == {"COMPLETED"}

    chaos.assert_consistent(settle_seconds=45)
    for booking, saga in zip(bookings, sagas, strict=True):
        notes = wait_until(lambda b=booking: _notifications(chaos, b["userId"]), 30, "notifications")
        message_ids = [n["messageId"] for n in notes if n.get("messageId")]
        assert len(message_ids) == len(set(message_ids)), notes
        booking_notes = [n for n in notes if n["type"] == "booking.confirmed"]
        assert len(booking_notes) == 1, (saga["sagaId"], notes)


def test_payments_are_served_without_redis_and_never_stale_after(chaos: ChaosFleet):
    payments = f"{chaos.url('payment_service')}/api/payments"

    def charge() -> dict[str, Any]:
        body = {
            "reservationId": f"chaos-{uuid.uuid4().hex[:8]}",
            "userId": "u1",
            "amount": 1500,
            "paymentMethod": "card",
        }
        answer = _call(chaos, "POST", payments, json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert answer.status_code == 201 and answer.json()["status"] == "completed", answer.text
        return dict(answer.json())

    first = charge()
    assert _call(chaos, "GET", f"{payments}/{first['id']}").json()["status"] == "completed"  # now cached
    with engine_down("redis"):
        assert _call(chaos, "GET", f"{payments}/{first['id']}").json()["status"] == "completed"
        second = charge()
        refunded = _call(
            chaos,
            "POST",
            f"{payments}/{first['id']}/compensate",
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert refunded.json()["status"] == "refunded"
        assert _call(chaos, "GET", f"{payments}/{first['id']}").json()["status"] == "refunded"
    # Redis keeps its data across the restart (append-only file): the entry cached before the
    # refund must not be served now.
    again = _call(chaos, "GET", f"{payments}/{first['id']}").json()
    assert again["status"] == "refunded" and again["version"] == refunded.json()["version"], again
    assert _call(chaos, "GET", f"{payments}/{second['id']}").json()["status"] == "completed"
    assert chaos.ready("payment_service") == 200


class Load:
    """Bookings started in the background while an engine is away; every answer recorded."""

    def __init__(self, chaos: ChaosFleet, event: dict[str, Any]) -> None:
        self.chaos, self.event = chaos, event
        self.saga_ids: list[str] = []
        self.refused: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Load":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        with httpx.Client(timeout=15) as http:
            while not self._stop.is_set():
                answer = http.post(
                    f"{self.chaos.url('saga_orchestrator')}/api/saga/booking",
                    json=self.chaos.booking(self.event),
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                )
                if answer.status_code == 202:
                    self.saga_ids.append(answer.json()["sagaId"])
                else:
                    self.refused.append(answer.status_code)
                self._stop.wait(0.3)


def _engine_restarted_under_load(chaos: ChaosFleet, engine: str, dependents: list[str]) -> None:
    event = chaos.create_event(capacity=1000, price=1000)
    with Load(chaos, event) as load:
        time.sleep(1)  # some bookings before the outage
        with engine_down(engine):
            for package in dependents:
                wait_until(lambda p=package: chaos.ready(p) == 503, 30, f"{package} /ready 503")
        try:
            for package in dependents:
                wait_until(lambda p=package: chaos.ready(p) == 200, 60, f"{package} ready again")
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\n{chaos.diagnosis(dependents)}") from None
        time.sleep(1)  # and some after
    assert set(load.refused) <= {503}, load.refused
    assert load.saga_ids
    try:
        sagas = chaos.wait_sagas(load.saga_ids, seconds=120)
        assert {s["status"] for s in sagas} <= {"COMPLETED", "COMPENSATED"}, [
            (s["status"], s["error"]) for s in sagas if s["status"] not in ("COMPLETED", "COMPENSATED")
        ][:3]
        report = chaos.check(settle_seconds=45)
        # Nothing dead-lettered either: a consumer whose engine is down waits without spending
        # its retries (Broker.engine_unreachable, with the errors each service registers).
        assert report.ok, "\n" + report.table()
    except (AssertionError, httpx.HTTPError) as exc:
        # Which service was stuck, and on what: the orchestrator drives the sagas.
        raise AssertionError(f"{exc}\n{chaos.diagnosis(['saga_orchestrator', *dependents])}") from None


def test_mongo_restarted_under_load(chaos: ChaosFleet):
    _engine_restarted_under_load(
        chaos, "mongo", ["reservation_service", "event_store_service", "notification_service"]
    )


def test_search_node_restarted_under_load(chaos: ChaosFleet):
    _engine_restarted_under_load(chaos, "opensearch", ["analytics_service"])


def _notifications(chaos: ChaosFleet, user_id: str) -> list[dict[str, Any]] | None:
    answer = chaos.http.get(f"{chaos.url('notification_service')}/api/notifications/user/{user_id}")
    items = answer.json()["items"] if answer.status_code == 200 else []
    return items if any(n["type"] == "booking.confirmed" for n in items) else None
