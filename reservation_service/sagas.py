"""The saga orchestrator as this service sees it: a confirmed booking made by a saga is
cancelled by a cancellation saga (it refunds the payment and releases the seats), never by a
status change alone."""

from dataclasses import dataclass
from typing import Any

from shared.errors import Unavailable
from shared.http import TRANSIENT_STATUSES, ServiceClient, ServiceUnreachable


@dataclass(frozen=True)
class SagaAnswer:
    """The orchestrator's answer: 202 with the saga's id, or its refusal (problem+json)."""

    status_code: int
    body: dict[str, Any]


def cancel_key(reservation_id: str, version: int, client_key: str | None) -> str:
    # The client's key when it gave one; else one per version of the reservation, so a retry
    # before the saga's first step finds the same saga.
    if client_key:
        return f"reservation-cancel:{client_key}"
    return f"reservation-cancel:{reservation_id}:v{version}"


class Orchestrator:
    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    async def cancel(self, reservation_id: str, reason: str, key: str) -> SagaAnswer:
        try:
            response = await self.client.request(
                "POST",
                "/api/saga/cancellation",
                json={"reservationId": reservation_id, "reason": reason},
                idempotency_key=key,
            )
        except ServiceUnreachable as exc:
            raise Unavailable(
                f"The saga orchestrator cannot be reached; nothing was cancelled ({exc})."
            ) from None
        if response.status_code in TRANSIENT_STATUSES:
            raise Unavailable("The saga orchestrator cannot start the cancellation now; retry.")
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text[:500]}
        return SagaAnswer(response.status_code, body if isinstance(body, dict) else {"items": body})
