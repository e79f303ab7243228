"""Payment rules: statuses, legal transitions, refund decisions; the records the store
returns. Plain code, no I/O, no clock."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from shared.contracts import RoutingKey
from shared.errors import Conflict


class Status(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    REFUNDING = "refunding"
    REFUNDED = "refunded"
    REFUND_FAILED = "refund_failed"


class Method(StrEnum):
    CARD = "card"
    MOBILE_MONEY = "mobile_money"
    BANK_TRANSFER = "bank_transfer"


@dataclass(frozen=True)
class NewPayment:
    """A charge asked for: the provider's answer decides the status it is recorded in."""

    reservation_id: str
    user_id: str
    amount: Decimal
    currency: str
    payment_method: Method


@dataclass(frozen=True)
class Payment:
    """A payment as stored: every change moves its version."""

    id: int
    reservation_id: str
    user_id: str
    amount: Decimal
    currency: str
    payment_method: Method
    status: Status
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
    version: int


NEXT: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.COMPLETED, Status.FAILED}),
    Status.COMPLETED: frozenset({Status.REFUNDING}),
    Status.FAILED: frozenset(),
    Status.REFUNDING: frozenset({Status.REFUNDED, Status.REFUND_FAILED}),
    Status.REFUNDED: frozenset(),
    Status.REFUND_FAILED: frozenset(),
}

# A payment in one of these statuses holds its reservation's single charge: the database's
# partial unique index on reservation_id covers exactly these (a failed one does not).
HOLDS_RESERVATION: frozenset[Status] = frozenset(
    {Status.PENDING, Status.COMPLETED, Status.REFUNDING, Status.REFUNDED}
)

# Status reached -> routing key of the message that tells the fleet.
ANNOUNCED: dict[Status, RoutingKey] = {
    Status.COMPLETED: RoutingKey.PAYMENT_COMPLETED,
    Status.FAILED: RoutingKey.PAYMENT_FAILED,
    Status.REFUNDED: RoutingKey.PAYMENT_REFUNDED,
}


class IllegalTransition(Conflict):
    """The asked-for status cannot follow the current one."""

    title = "Illegal status transition"

    def __init__(self, current: Status, wanted: Status) -> None:
        allowed = ", ".join(sorted(NEXT[current])) or "none (final status)"
        super().__init__(
            f"A payment cannot go from {current.value} to {wanted.value}; allowed next: {allowed}.",
            extra={"currentStatus": current.value, "requestedStatus": wanted.value},
        )


class VersionConflict(Conflict):
    """The payment changed since the caller read it (optimistic concurrency)."""

    title = "Version conflict"

    def __init__(self, payment_id: int, expected: int, current: int | None = None) -> None:
        detail = f"Payment {payment_id} is not at version {expected}"
        detail += f" (it is at version {current})." if current is not None else "."
        super().__init__(detail, extra={"expectedVersion": expected, "currentVersion": current})


class ReservationAlreadyCharged(Conflict):
    """A reservation gets at most one successful charge."""

    title = "Reservation already charged"

    def __init__(self, reservation_id: str, payment_id: int, status: str) -> None:
        super().__init__(
            f"Reservation {reservation_id} already has payment {payment_id} ({status}); "
            "it cannot be charged twice.",
            extra={"existingPaymentId": payment_id, "existingStatus": status},
        )


class NothingToRefund(Conflict):
    title = "Cannot refund"

    def __init__(self, payment_id: int, status: Status) -> None:
        super().__init__(
            f"Payment {payment_id} is {status.value}; only a completed payment can be refunded.",
            extra={"currentStatus": status.value},
        )


def transition(current: Status, wanted: Status) -> Status:
    """The wanted status when it may follow the current one; IllegalTransition otherwise."""
    if wanted not in NEXT[current]:
        raise IllegalTransition(current, wanted)
    return wanted


class RefundPlan(StrEnum):
    REFUND = "refund"  # completed (or stuck in refunding): refund it now
    ALREADY_DONE = "already_done"  # refunded: answer the same payment again
    NOTHING_TO_DO = "nothing_to_do"  # failed: no money was taken


def refund_plan(payment_id: int, current: Status) -> RefundPlan:
    """What a compensation (refund) request does to a payment in `current` status.

    Idempotent by design: the saga may compensate twice after a crash, and a declined
    payment needs no refund, so both answer 200 without a change."""
    if current in (Status.COMPLETED, Status.REFUNDING):
        return RefundPlan.REFUND
    if current is Status.REFUNDED:
        return RefundPlan.ALREADY_DONE
    if current is Status.FAILED:
        return RefundPlan.NOTHING_TO_DO
    raise NothingToRefund(payment_id, current)


def refund_path(current: Status) -> list[Status]:
    """The statuses a refund walks through, each checked against the machine."""
    path = [] if current is Status.REFUNDING else [transition(current, Status.REFUNDING)]
    path.append(transition(Status.REFUNDING, Status.REFUNDED))
    return path


@dataclass(frozen=True)
class StatusChange:
    status: Status
    failure_reason: str | None
    routing_key: RoutingKey | None


def status_change(current: Status, wanted: Status, reason: str | None) -> StatusChange:
    """A legal change, the failure reason it keeps, and the message it announces (if any)."""
    status = transition(current, wanted)
    keeps_reason = status in (Status.FAILED, Status.REFUND_FAILED)
    return StatusChange(status, reason if keeps_reason else None, ANNOUNCED.get(status))


REFUND_REFUSED = "Refund refused by the provider"


def refund_result(current: Status, refunded: bool) -> StatusChange:
    """Where a refund of a payment in `current` status ends, given the provider's answer:
    refunded (through refunding, each step checked), or refund_failed with its reason."""
    if refunded:
        final = refund_path(current)[-1]
        return StatusChange(final, None, ANNOUNCED.get(final))
    final = transition(Status.REFUNDING, Status.REFUND_FAILED)
    return StatusChange(final, REFUND_REFUSED, ANNOUNCED.get(final))
