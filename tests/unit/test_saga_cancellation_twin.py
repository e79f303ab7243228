"""Three requests under one Idempotency-Key race to cancel a booking: the first starts the
saga and, fast participants helping, cancels the reservation before a later request reads it.
That later request must answer the key's saga (202), not a 409 "not cancellable" born of what
its own twin just did (seen in CI: {202, 409} for three identical requests)."""

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from saga_orchestrator.schemas import CancellationIn
from saga_orchestrator.service import SagaService
from shared.idempotency import Idempotency

BODY = {"reservationId": "r1", "reason": "twice"}


class TwinStartsMeanwhile:
    """No saga under the key when the request begins; the twin's, once it looks again."""

    def __init__(self, twin: Any) -> None:
        self.twin = twin
        self.looked = 0

    async def find_by_key(self, key: str) -> Any:
        self.looked += 1
        return None if self.looked == 1 else self.twin

    async def live_cancellation(self, reservation_id: str) -> Any:
        return None  # read before the twin's row was committed


class Participants:
    async def reservation(self, reservation_id: str) -> Any:
        # Read after the twin's CANCEL_RESERVATION step ran.
        return SimpleNamespace(
            saga_id=None,
            event_id=1,
            status="cancelled",
            user_id="user-1",
            user_details=SimpleNamespace(name="Awa", email="awa@example.sn"),
            booking_details=SimpleNamespace(seats=2, total_amount=None, currency="XOF"),
        )

    async def event(self, event_id: int) -> Any:
        return SimpleNamespace(event_date=datetime(2030, 1, 1, tzinfo=UTC))

    async def payments_of(self, reservation_id: str) -> list[Any]:
        return []


async def test_a_request_whose_twin_cancelled_first_answers_the_twins_saga():
    body = CancellationIn.model_validate(BODY)
    idem = Idempotency.of("cancel-once", body.model_dump(mode="json", by_alias=True))
    twin = SimpleNamespace(request=body.model_dump(mode="json", by_alias=True), id="twin")
    store = TwinStartsMeanwhile(twin)
    orchestrator = SimpleNamespace(peers=SimpleNamespace(refused=lambda: None))
    service = SagaService(store, Participants(), orchestrator, SimpleNamespace(currency="XOF"))  # type: ignore[arg-type]
    assert await service.start_cancellation(body, idem) is twin
    assert store.looked == 2
