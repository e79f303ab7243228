"""The same message delivered twice is applied once (unique message ids, version guards); a poison
message is retried, then dead-lettered, counted, and reported by `fleet check`."""

import json
import uuid

import httpx

from tests.chaos.tools import ChaosFleet, wait_until

CONSUMERS = ("analytics.projection", "notification.dispatch", "event_store.recorder")


def consumed(chaos: ChaosFleet, package: str, queue: str, outcome: str) -> float:
    """messages_consumed_total of one queue and outcome, from the service's /metrics."""
    text = httpx.get(f"{chaos.url(package)}/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("messages_consumed_total{") and f'queue="{chaos.prefix + queue}"' in line:
            if f'outcome="{outcome}"' in line:
                total += float(line.rsplit(" ", 1)[1])
    return total


def idle(chaos: ChaosFleet) -> bool:
    queues = [chaos.queue(name) for name in CONSUMERS]
    return all(q.get("messages", 0) == 0 and q.get("messages_unacknowledged", 0) == 0 for q in queues)


def test_a_message_delivered_twice_is_applied_once(chaos: ChaosFleet):
    event = chaos.create_event(capacity=100, price=3000)
    booking = chaos.booking(event, seats=2)
    [saga] = chaos.wait_sagas([chaos.start_saga(booking)])
    assert saga["status"] == "COMPLETED"
    stream = f"SAGA-{saga['sagaId']}"
    history = wait_until(lambda: _history(chaos, stream), 30, f"{stream} in the event store")
    confirmed = next(e for e in history["events"] if e["eventType"] == "booking.confirmed")
    notifications = wait_until(lambda: _notifications(chaos, booking["userId"]), 30, "notifications")
    wait_until(lambda: idle(chaos), 30, "queues drained")
    ok_before = consumed(chaos, "notification_service", "notification.dispatch", "ok")

    envelope = {
        "messageId": confirmed["eventId"],
        "type": "booking.confirmed",
        "aggregateType": "SAGA",
        "aggregateId": str(saga["sagaId"]),
        "occurredAt": confirmed["occurredAt"],
        "correlationId": confirmed["metadata"].get("correlationId") or str(uuid.uuid4()),
        "causationId": confirmed["metadata"].get("causationId"),
        "data": confirmed["eventData"],
    }
    for _ in range(2):
        chaos.publish("booking.confirmed", json.dumps(envelope).encode(), envelope["messageId"])
    wait_until(
        lambda: consumed(chaos, "notification_service", "notification.dispatch", "ok") >= ok_before + 2,
        30,
        "the duplicates consumed",
    )
    wait_until(lambda: idle(chaos), 30, "queues drained")

    assert _notifications(chaos, booking["userId"]) == notifications
    assert _history(chaos, stream)["currentVersion"] == history["currentVersion"]
    chaos.assert_consistent()


def test_a_poison_message_ends_in_the_dead_letter_queue_and_is_reported(chaos: ChaosFleet):
    message_id = str(uuid.uuid4())
    dead_before = consumed(chaos, "analytics_service", "analytics.projection", "dead")
    chaos.publish("event.updated", b'{"this is": "not an envelope"', message_id)
    try:
        for queue in ("analytics.projection.dlq", "event_store.recorder.dlq"):
            wait_until(lambda q=queue: chaos.queue(q).get("messages", 0) >= 1, 60, f"{queue} to hold it")
        assert consumed(chaos, "analytics_service", "analytics.projection", "dead") == dead_before + 1
        # Retried first, dead-lettered after CONSUMER_MAX_RETRIES (3) more attempts.
        assert consumed(chaos, "analytics_service", "analytics.projection", "retry") >= 3

        report = chaos.check(settle_seconds=0)
        dead = {p.subject for p in report.by_check("dead_letters")}
        assert dead == {
            f"queue {chaos.prefix}analytics.projection.dlq",
            f"queue {chaos.prefix}event_store.recorder.dlq",
        }, report.table()
    finally:
        for queue in ("analytics.projection.dlq", "event_store.recorder.dlq"):
            chaos.purge(queue)
    chaos.assert_consistent()


def _history(chaos: ChaosFleet, stream: str) -> dict | None:
    answer = httpx.get(f"{chaos.url('event_store_service')}/api/aggregates/{stream}/history")
    return answer.json() if answer.status_code == 200 else None


def _notifications(chaos: ChaosFleet, user_id: str) -> list[tuple[str, str]] | None:
    answer = httpx.get(f"{chaos.url('notification_service')}/api/notifications/user/{user_id}")
    items = answer.json()["items"] if answer.status_code == 200 else []
    kinds = sorted((n["type"], n.get("messageId") or "") for n in items)
    return kinds if any(k == "booking" or "booking" in k for k, _ in kinds) else None
