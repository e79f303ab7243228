"""The few calls to our services the scenarios share: make an event, run one booking saga to
its end."""

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.client import LoadClient
from bench.core import iso_seconds

TERMINAL = {"COMPLETED", "COMPENSATED", "COMPENSATION_FAILED"}
PRICE = 5000  # XOF: a plain booking of a few seats stays far below the decline threshold
EXPENSIVE_PRICE = 600_000  # XOF: 2 seats = 1,200,000 > PAYMENT_DECLINE_ABOVE (1,000,000)
MAX_WAIT_SECONDS = 25.0  # under the orchestrator's 30 s cap and the client's 30 s timeout


async def create_event(client: LoadClient, *, capacity: int, price: int, label: str) -> int:
    answer = await client.post(
        "/api/events",
        json={
            "name": f"bench {label} {uuid.uuid4().hex[:6]}",
            "description": "created by python -m bench",
            "eventDate": (datetime.now(UTC) + timedelta(days=90)).isoformat(),
            "location": "Dakar",
            "category": "bench",
            "totalCapacity": capacity,
            "ticketPrice": price,
        },
    )
    answer.raise_for_status()
    return int(answer.json()["id"])


async def get_event(client: LoadClient, event_id: int) -> dict[str, Any]:
    answer = await client.get(f"/api/events/{event_id}")
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


@dataclass
class SagaRun:
    saga_id: str
    status: str
    event_id: int
    user_id: str
    seats: int
    created_at: float  # epoch seconds, from the saga log
    updated_at: float
    client_seconds: float  # POST to terminal as the client saw it
    polls: int

    @property
    def server_ms(self) -> float:
        return (self.updated_at - self.created_at) * 1000


async def run_saga(
    client: LoadClient,
    *,
    event_id: int,
    seats: int,
    price: int,
    user_id: str | None = None,
    timeout: float = 60.0,
) -> SagaRun:
    """POST a booking saga and long-poll it until it is terminal."""
    user = user_id or f"bench-{uuid.uuid4().hex[:12]}"
    t0 = time.perf_counter()
    answer = await client.post(
        "/api/saga/booking",
        json={
            "eventId": event_id,
            "userId": user,
            "userName": "Bench User",
            "userEmail": "bench@example.com",
            "seats": seats,
            "ticketPrice": price,
            "paymentMethod": "card",
        },
    )
    if answer.status_code != 202:
        raise RuntimeError(f"saga start answered {answer.status_code}: {answer.text[:200]}")
    saga_id = answer.json()["sagaId"]
    # A long poll: the orchestrator answers as soon as the saga ends (one GET per saga, and
    # the client's latency is the saga's, not a polling interval's).
    polls = 0
    deadline = t0 + timeout
    while True:
        polls += 1
        wait = max(0.0, min(MAX_WAIT_SECONDS, deadline - time.perf_counter()))
        state = await client.get(f"/api/saga/{saga_id}", params={"wait": f"{wait:.3f}"})
        state.raise_for_status()
        saga = state.json()
        if saga["status"] in TERMINAL:
            return SagaRun(
                saga_id=saga_id,
                status=saga["status"],
                event_id=event_id,
                user_id=user,
                seats=seats,
                created_at=iso_seconds(saga["createdAt"]),
                updated_at=iso_seconds(saga["updatedAt"]),
                client_seconds=time.perf_counter() - t0,
                polls=polls,
            )
        if time.perf_counter() > deadline:
            raise TimeoutError(f"saga {saga_id} still {saga['status']} after {timeout:.0f} s")
