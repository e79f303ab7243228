"""The orchestrator's use cases: starting a saga (the checks made before anything is booked)
and reading one. The API calls these and does HTTP only; the orchestrator drives what they
start."""

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from saga_orchestrator.domain import Saga, booking_amount, check_not_started, check_price
from saga_orchestrator.orchestrator import Orchestrator
from saga_orchestrator.participants import EventNotFound, Participants
from saga_orchestrator.schemas import BookingIn
from saga_orchestrator.settings import SagaSettings
from saga_orchestrator.store import SagaStore
from shared.errors import NotFound, Unavailable, field_error
from shared.http import ServiceUnreachable
from shared.idempotency import IdempotencyKeyReused


def utc_now() -> datetime:
    return datetime.now(UTC)


def event_date(event: Mapping[str, Any]) -> datetime:
    """The event's date as the event service answers it (ISO 8601; without a zone: UTC)."""
    moment = datetime.fromisoformat(str(event["eventDate"]))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class SagaService:
    def __init__(
        self,
        store: SagaStore,
        participants: Participants,
        orchestrator: Orchestrator,
        settings: SagaSettings,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.participants = participants
        self.orchestrator = orchestrator
        self.settings = settings
        self.clock = clock

    @staticmethod
    def _same_request(saga: Saga, payload: dict[str, object], key: str | None) -> Saga:
        if key is not None and saga.request != payload:
            raise IdempotencyKeyReused(key)
        return saga

    async def start_booking(self, body: BookingIn, key: str | None) -> Saga:
        """A booking saga (SAGA1), leased to this process and driven in the background; the
        one already started under `key` when there is one. Nothing is booked when the event
        is unknown (404), unreachable (503), priced otherwise (409) or has started (409 naming
        eventDate)."""
        payload = body.model_dump(mode="json", by_alias=True)
        if key is not None:
            existing = await self.store.find_by_key(key)
            if existing is not None:
                return self._same_request(existing, payload, key)
        try:
            event = await self.participants.event(body.event_id)
        except EventNotFound:
            raise NotFound(
                f"Event {body.event_id} not found; no saga was started.",
                errors=[field_error("eventId", "no such event")],
            ) from None
        except ServiceUnreachable:
            raise Unavailable("The event service cannot be reached; nothing was booked.") from None
        check_not_started(body.event_id, event_date(event), self.clock(), "it can no longer be booked")
        # The event's price is the truth: a client quoting another price books nothing.
        price = Decimal(str(event["ticketPrice"]))
        check_price(body.ticket_price, price)
        saga, created = await self.store.create(
            {
                "id": uuid.uuid4(),
                "request": payload,
                "event_id": body.event_id,
                "seats": body.seats,
                "amount": booking_amount(body.seats, price),
                "currency": self.settings.currency,
                "idempotency_key": key,
            }
        )
        if created:
            self.orchestrator.drive_soon(saga.id, saga)
        return self._same_request(saga, payload, key)
