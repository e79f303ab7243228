"""Shared by the saga's integration and exercise tests: settings pointing at fake
participants, a booking request (and a saga of it), polling a saga to its end, reading the
outbox."""

import asyncio
import time
import uuid
from decimal import Decimal
from typing import Any

import httpx
import psycopg

from saga_orchestrator.domain import Saga, SagaStatus, booking_amount
from saga_orchestrator.schemas import BookingIn
from saga_orchestrator.settings import SagaSettings
from tests.support import create_pg_database, unique

TERMINAL = {"COMPLETED", "COMPENSATED", "COMPENSATION_FAILED"}


def saga_settings(participants_url: str, database_url: str | None = None, **overrides: Any) -> SagaSettings:
    tag = unique("saga")
    values: dict[str, Any] = {
        "database_url": database_url or create_pg_database("sagas", "test_sagas"),
        "event_service_url": participants_url,
        "reservation_service_url": participants_url,
        "payment_service_url": participants_url,
        "amqp_exchange": f"{tag}.events",
        "amqp_queue_prefix": f"{tag}.",
        "json_logs": False,
        "http_timeout_seconds": 2.0,
        "http_retries": 1,
        "http_backoff_seconds": 0.02,
        "compensation_attempts": 3,
        "compensation_retry_seconds": 0.05,
        "recovery_interval_seconds": 0.2,
        "outbox_poll_seconds": 0.2,
    }
    values.update(overrides)
    return SagaSettings(**values)


def booking(event_id: int = 1, **changes: Any) -> dict[str, Any]:
    body = {
        "eventId": event_id,
        "userId": "user-1",
        "userName": "Awa Diop",
        "userEmail": "awa@example.com",
        "userPhone": "+221770000000",
        "seats": 2,
        "ticketPrice": 5000,
        "paymentMethod": "mobile_money",
        "preferences": {"seating": "front"},
    }
    body.update(changes)
    return body


def booking_saga(body: dict[str, Any], currency: str = "XOF", **fields: Any) -> Saga:
    """A running booking saga as its start writes it to the log, for a test that runs one of
    its steps directly."""
    request = BookingIn.model_validate(body).model_dump(mode="json", by_alias=True)
    return Saga(
        id=uuid.uuid4(),
        status=SagaStatus.RUNNING,
        request=request,
        event_id=int(body["eventId"]),
        seats=int(body["seats"]),
        amount=booking_amount(int(body["seats"]), Decimal(str(body["ticketPrice"])), currency),
        currency=currency,
        **fields,
    )


async def start(client: httpx.AsyncClient, body: dict[str, Any], **kwargs: Any) -> str:
    answer = await client.post("/api/saga/booking", json=body, **kwargs)
    assert answer.status_code == 202, answer.text
    saga_id: str = answer.json()["sagaId"]
    assert answer.headers["Location"] == f"/api/saga/{saga_id}"
    return saga_id


async def wait_for(
    client: httpx.AsyncClient, saga_id: str, statuses: set[str] = TERMINAL, timeout: float = 20
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        saga: dict[str, Any] = (await client.get(f"/api/saga/{saga_id}")).json()
        if saga["status"] in statuses:
            return saga
        assert time.monotonic() < deadline, f"saga still {saga['status']}: {saga}"
        await asyncio.sleep(0.05)


def outbox(database_url: str) -> list[dict[str, Any]]:
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT routing_key, payload FROM outbox ORDER BY id").fetchall()
    return [{"type": r[0], **r[1]} for r in rows]


def steps_of(saga: dict[str, Any], kind: str) -> list[str]:
    return [s["name"] for s in saga["steps"] if s["kind"] == kind]
