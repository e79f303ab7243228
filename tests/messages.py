"""Contract messages for tests, with plausible defaults: each builder takes the fields a test
cares about (snake_case names of the model) and returns the typed message."""

from datetime import UTC, datetime
from typing import Any, TypeVar

from shared.contracts import (
    BookingConfirmed,
    BookingMessage,
    EventMessage,
    EventUpdated,
    PaymentCompleted,
    PaymentMessage,
    ReservationConfirmed,
    ReservationMessage,
    SeatsMoved,
)
from shared.money import Money

AT = datetime(2030, 1, 1, tzinfo=UTC)
E = TypeVar("E", bound=EventMessage)
R = TypeVar("R", bound=ReservationMessage)
P = TypeVar("P", bound=PaymentMessage)
B = TypeVar("B", bound=BookingMessage)


def an_event(kind: type[E] = EventUpdated, event_id: int = 7, version: int = 1, **fields: Any) -> E:  # type: ignore[assignment]
    data: dict[str, Any] = {
        "id": event_id,
        "name": "Concert Youssou N'Dour",
        "description": "Live at the arena",
        "event_date": datetime(2030, 12, 25, 20, tzinfo=UTC),
        "location": "Dakar Arena",
        "category": "concert",
        "total_capacity": 100,
        "booked_seats": 0,
        "ticket_price": Money.of(15000, "XOF"),
        "created_at": AT,
        "updated_at": AT,
        "version": version,
    }
    data.update(fields)
    if not isinstance(data["ticket_price"], Money):
        data["ticket_price"] = Money.of(data["ticket_price"], "XOF")
    data.setdefault("available_seats", data["total_capacity"] - data["booked_seats"])
    if issubclass(kind, SeatsMoved):
        data.setdefault("seats", 1)
    return kind(**data)


def a_reservation(
    kind: type[R] = ReservationConfirmed,  # type: ignore[assignment]
    reservation_id: str = "r-1",
    event_id: int = 7,
    *,
    version: int = 1,
    seats: int = 2,
    amount: Any = 30000,
    currency: str = "XOF",
    **fields: Any,
) -> R:
    status = kind.routing_key.action if kind.routing_key.action != "created" else "pending"
    data: dict[str, Any] = {
        "id": reservation_id,
        "event_id": event_id,
        "user_id": "user-1",
        "user_details": {"name": "Awa", "email": "awa@example.com", "phone": None},
        "booking_details": {
            "seats": seats,
            "currency": currency,
            "total_amount": None if amount is None else Money.of(amount, currency),
        },
        "status": status,
        "saga_id": None,
        "timeline": [],
        "metadata": {},
        "version": version,
        "created_at": AT,
        "updated_at": AT,
    }
    data.update(fields)
    return kind.model_validate(data)


def a_payment(
    kind: type[P] = PaymentCompleted,  # type: ignore[assignment]
    payment_id: int = 5,
    *,
    amount: Any = 30000,
    currency: str = "XOF",
    **fields: Any,
) -> P:
    data: dict[str, Any] = {
        "id": payment_id,
        "reservation_id": "r-1",
        "user_id": "user-1",
        "amount": Money.of(amount, currency),
        "payment_method": "card",
        "status": kind.routing_key.action,
        "failure_reason": None,
        "created_at": AT,
        "updated_at": AT,
        "version": 1,
    }
    data.update(fields)
    return kind.model_validate(data)


def a_booking(
    kind: type[B] = BookingConfirmed,  # type: ignore[assignment]
    saga_id: str = "saga-1",
    *,
    amount: Any = 30000,
    currency: str = "XOF",
    **fields: Any,
) -> B:
    data: dict[str, Any] = {
        "saga_id": saga_id,
        "status": "COMPLETED" if kind is BookingConfirmed else "COMPENSATED",
        "event_id": 7,
        "reservation_id": "r-1",
        "payment_id": "11",
        "user_id": "user-1",
        "user_name": "Ada",
        "user_email": "ada@example.com",
        "seats": 2,
        "amount": Money.of(amount, currency),
        "reason": None,
    }
    data.update(fields)
    return kind.model_validate(data)
