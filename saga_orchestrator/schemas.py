"""Saga API input and output: the booking request (the original's fields) and the saga log."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import EmailStr, Field, StrictInt

from saga_orchestrator.domain import Saga
from shared import tracing
from shared.contracts.calls import CancellationRequest, PaymentMethod
from shared.money import Amount, EventPriceIn, priced_in
from shared.schemas import ApiInput, ApiModel


class BookingIn(ApiInput):
    event_id: Annotated[StrictInt, Field(ge=1, le=2**62)]
    user_id: Annotated[str, Field(min_length=1, max_length=100)]
    user_name: Annotated[str, Field(min_length=1, max_length=200)]
    user_email: EmailStr
    user_phone: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    seats: Annotated[StrictInt, Field(ge=1, le=10_000)]
    # The event's price, in the currency events are priced in.
    ticket_price: EventPriceIn
    payment_method: PaymentMethod
    preferences: dict[str, Any] | None = None


# The body the reservation service sends is the call contract (shared/contracts/calls.py).
CancellationIn = CancellationRequest


class SagaStarted(ApiModel):
    saga_id: uuid.UUID
    status: str


class StepOut(ApiModel):
    name: str
    kind: str
    status: str
    attempts: int
    error: str | None
    started_at: datetime
    finished_at: datetime | None


class SagaSummary(ApiModel):
    saga_id: uuid.UUID
    type: str
    status: str
    current_step: str | None
    event_id: int
    user_id: str
    seats: int
    reservation_id: str | None
    payment_id: str | None
    currency: str
    amount: Annotated[Amount, priced_in("currency")]
    error: str | None
    created_at: datetime
    updated_at: datetime
    # The trace of the request that started it, as Zipkin names it (docs/tracing.md): open
    # http://127.0.0.1:9411/zipkin/traces/<traceId>. None when it was not traced.
    trace_id: str | None = Field(None, examples=["4bf92f3577b34da6a3ce929d0e0e4736"])

    @classmethod
    def of(cls, saga: Saga) -> "SagaSummary":
        return cls(saga_id=saga.id, user_id=saga.user_id, **_columns(saga))


class SagaOut(SagaSummary):
    steps: list[StepOut]


def _columns(saga: Saga) -> dict[str, Any]:
    names = (
        "type status current_step event_id seats reservation_id payment_id amount currency error "
        "created_at updated_at"
    ).split()
    return {name: getattr(saga, name) for name in names} | {
        "trace_id": tracing.trace_id_of(saga.trace_context)
    }


def saga_out(saga: Saga, steps: list[dict[str, Any]]) -> SagaOut:
    return SagaOut(
        saga_id=saga.id,
        user_id=saga.user_id,
        steps=[StepOut.model_validate(step, from_attributes=False) for step in steps],
        **_columns(saga),
    )
