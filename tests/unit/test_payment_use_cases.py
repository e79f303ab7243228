"""The payment use cases (payment_service/service.py) over an in-memory store and the
simulated provider (itself in memory): the refund in three steps with no lock held, finished
after a crash without refunding twice, a compensation that lost the race to another answered
with its outcome, a charge whose twin or rival committed first, a stale version refused. The
store's statements against PostgreSQL are tests/integration/payment_service's.

The fake writes the way the real one does: a write lands only on the version it read."""

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from payment_service.domain import (
    Method,
    NewPayment,
    Payment,
    ReservationAlreadyCharged,
    Status,
    VersionConflict,
)
from payment_service.provider import SimulatedProvider
from payment_service.service import Payments, refund_key
from payment_service.store import KeyTaken
from shared.contracts import Envelope
from shared.idempotency import Idempotency, StoredAnswer
from shared.results import record_to_json

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def stored(payment_id: int = 1, status: Status = Status.COMPLETED, *, version: int = 1) -> Payment:
    return Payment(
        id=payment_id,
        reservation_id="r1",
        user_id="u1",
        amount=Decimal("10000.00"),
        currency="XOF",
        payment_method=Method.CARD,
        status=status,
        failure_reason=None,
        created_at=NOW,
        updated_at=NOW,
        version=version,
    )


class MemoryStore:
    def __init__(self, *payments: Payment) -> None:
        self.payments = {p.id: p for p in payments}
        self.answers: dict[tuple[str, str], StoredAnswer] = {}
        self.queued: list[Envelope] = []
        # (status, version) of each write that landed, in order.
        self.written: list[tuple[Status, int]] = []
        # Runs just before the next write lands: a rival that gets there first.
        self.before_write: list[Callable[[], None]] = []
        self.next_id = 100
        self.twin_created: Payment | None = None

    def _rivals(self) -> None:
        for rival in self.before_write:
            rival()
        self.before_write.clear()

    async def replay_or_new_id(self, idem: Idempotency | None) -> Payment | int:
        self.next_id += 1
        return self.next_id

    async def insert(self, payment: Payment, message: Envelope, idem: Idempotency | None) -> bool:
        if self.twin_created is not None or any(
            p.reservation_id == payment.reservation_id and p.status is Status.COMPLETED
            for p in self.payments.values()
        ):
            return False
        self.payments[payment.id] = payment
        self.queued.append(message)
        return True

    async def created_under(self, idem: Idempotency | None) -> Payment | None:
        return self.twin_created

    async def live_charge(self, reservation_id: str) -> tuple[int, str] | None:
        for p in self.payments.values():
            if p.reservation_id == reservation_id and p.status is Status.COMPLETED:
                return p.id, p.status.value
        return None

    async def current(self, payment_id: int, scope: str, idem: Idempotency | None) -> Payment | StoredAnswer:
        if idem is not None and (found := self.answers.get((scope, idem.key))):
            return found
        return self.payments[payment_id]

    async def write(
        self,
        after: Payment,
        read_version: int,
        message: Envelope | None,
        scope: str,
        idem: Idempotency | None,
        *,
        keep_answer: bool = True,
    ) -> bool:
        self._rivals()
        if self.payments[after.id].version != read_version:
            return False
        if keep_answer and idem is not None and (scope, idem.key) in self.answers:
            raise KeyTaken()
        self.payments[after.id] = after
        self.written.append((after.status, after.version))
        if message is not None:
            self.queued.append(message)
        if keep_answer and idem is not None:
            self.answers[(scope, idem.key)] = StoredAnswer(200, record_to_json(after))
        return True

    async def keep_answer(self, scope: str, idem: Idempotency | None, payment: Payment) -> None:
        if idem is not None:
            self.answers.setdefault((scope, idem.key), StoredAnswer(200, record_to_json(payment)))


def payments(
    store: MemoryStore, provider: SimulatedProvider | None = None
) -> tuple[Payments, SimulatedProvider, list[int]]:
    provider = provider or SimulatedProvider(Decimal("1000000"))
    woken: list[int] = []
    use_cases = Payments(store, provider, published=lambda: woken.append(1), clock=lambda: NOW)  # type: ignore[arg-type]
    return use_cases, provider, woken


async def test_a_refund_records_refunding_then_calls_the_provider_then_records_refunded():
    store = MemoryStore(stored(status=Status.COMPLETED, version=1))
    use_cases, provider, woken = payments(store)
    result = await use_cases.compensate(1, "saga compensated", None)
    assert result.value.status is Status.REFUNDED and not result.replayed
    # Two writes, each on the version the previous one left; only the outcome is announced.
    assert store.written == [(Status.REFUNDING, 2), (Status.REFUNDED, 3)]
    assert [m.type for m in store.queued] == ["payment.refunded"]
    assert provider.refunds_made == 1 and woken == [1]


async def test_a_refund_left_refunding_by_a_crash_is_finished_without_refunding_twice():
    # The crash came after the provider refunded and before the outcome was recorded.
    provider = SimulatedProvider(Decimal("1000000"))
    assert provider.refund(Decimal("10000.00"), "XOF", key=refund_key(1))
    store = MemoryStore(stored(status=Status.REFUNDING, version=2))
    use_cases, _, _ = payments(store, provider)
    result = await use_cases.compensate(1, "saga compensated again", None)
    assert result.value.status is Status.REFUNDED
    assert store.written == [(Status.REFUNDED, 3)]
    assert provider.refunds_made == 1


async def test_a_compensation_that_lost_the_race_answers_the_winners_refund():
    provider = SimulatedProvider(Decimal("1000000"))
    store = MemoryStore(stored(status=Status.COMPLETED, version=1))

    def rival_refunds_whole() -> None:
        provider.refund(Decimal("10000.00"), "XOF", key=refund_key(1))
        store.payments[1] = stored(status=Status.REFUNDED, version=3)

    store.before_write.append(rival_refunds_whole)
    use_cases, _, woken = payments(store, provider)
    result = await use_cases.compensate(1, "twin compensation", Idempotency("k1", "fp"))
    # Our `refunding` write found another version: read again, already refunded, answered as is.
    assert result.value.status is Status.REFUNDED and result.value.version == 3
    assert store.written == [] and provider.refunds_made == 1 and woken == []


async def test_a_refund_the_provider_refuses_ends_refund_failed_and_is_announced():
    store = MemoryStore(stored(status=Status.COMPLETED))
    use_cases, provider, _ = payments(store, SimulatedProvider(Decimal("1000000"), Decimal("5000")))
    result = await use_cases.compensate(1, None, None)
    assert result.value.status is Status.REFUND_FAILED and result.value.failure_reason
    assert store.written[-1][0] is Status.REFUND_FAILED and provider.refunds_made == 0


async def test_a_failed_payment_is_answered_unchanged_without_calling_the_provider():
    store = MemoryStore(stored(status=Status.FAILED))
    use_cases, provider, _ = payments(store)
    result = await use_cases.compensate(1, None, Idempotency("k1", "fp"))
    assert result.value.status is Status.FAILED
    assert store.written == [] and provider.refunds_made == 0
    # The answer is kept under the key: a retry replays it.
    again = await use_cases.compensate(1, None, Idempotency("k1", "fp"))
    assert again.replayed and again.value == result.value


async def test_a_charge_whose_twin_committed_first_replays_the_twins_payment():
    store = MemoryStore()
    store.twin_created = stored(42)
    use_cases, _, woken = payments(store)
    new = NewPayment("r1", "u1", Decimal("10000"), "XOF", Method.CARD)
    result = await use_cases.create(new, Idempotency("k1", "fp"))
    assert result.replayed and result.value.id == 42
    assert store.queued == [] and woken == []


async def test_a_second_charge_of_a_charged_reservation_is_refused():
    store = MemoryStore(stored(7, Status.COMPLETED))
    use_cases, _, _ = payments(store)
    with pytest.raises(ReservationAlreadyCharged) as refused:
        await use_cases.create(NewPayment("r1", "u1", Decimal("10000"), "XOF", Method.CARD), None)
    assert refused.value.extra == {"existingPaymentId": 7, "existingStatus": "completed"}
    assert list(store.payments) == [7]


async def test_a_declined_charge_is_recorded_failed_and_announced():
    store = MemoryStore()
    use_cases, _, _ = payments(store, SimulatedProvider(Decimal("500")))
    result = await use_cases.create(NewPayment("r2", "u1", Decimal("10000"), "XOF", Method.CARD), None)
    assert result.value.status is Status.FAILED and "Declined" in (result.value.failure_reason or "")
    assert [m.type for m in store.queued] == ["payment.failed"]


async def test_a_status_change_on_a_stale_version_is_refused_without_a_write():
    store = MemoryStore(stored(status=Status.COMPLETED, version=4))
    use_cases, _, _ = payments(store)
    with pytest.raises(VersionConflict) as stale:
        await use_cases.change_status(1, Status.REFUNDED, "manual", 3, None)
    assert stale.value.extra == {"expectedVersion": 3, "currentVersion": 4}
    assert store.written == [] and store.payments[1] == stored(version=4)
