"""SAGA3: the distributed payment step. The saga charges seats x the event's price under the
key <sagaId>:PROCESS_PAYMENT; a declined payment compensates; a payment whose answer was
lost is settled by asking the payment service by idempotency key, not by guessing.

The first test runs the step itself, so it needs no other exercise; the others run whole
sagas (SAGA1 starts them, SAGA2 makes the reservation paid for)."""

from decimal import Decimal

from saga_orchestrator.app import create_app
from saga_orchestrator.clients import Participants
from saga_orchestrator.domain import Step
from tests.integration.saga_orchestrator.fakes import serve_fakes
from tests.integration.saga_orchestrator.helpers import (
    booking,
    booking_saga,
    saga_settings,
    start,
    steps_of,
    wait_for,
)
from tests.support import running


async def test_the_step_charges_the_sagas_amount_under_its_key():
    async with serve_fakes() as fakes:
        saga = booking_saga(booking(3, seats=4, ticketPrice=1250), reservation_id="r-1")
        participants = Participants(saga_settings(fakes.url))
        try:
            outcome = await participants.run_step(Step.PROCESS_PAYMENT, saga)
        finally:
            await participants.aclose()
        assert outcome.ok, outcome
        [paid] = fakes.calls
        assert (paid.route, paid.key) == ("pay", f"{saga.id}:PROCESS_PAYMENT")
        assert paid.body == {
            "reservationId": "r-1",
            "userId": "user-1",
            "amount": "5000",  # a decimal string, never a binary float
            "currency": "XOF",
            "paymentMethod": "mobile_money",
        }
        assert outcome.fields == {"payment_id": "1"}
        assert fakes.payments["1"]["status"] == "completed"


async def test_the_payment_charges_seats_times_the_events_price():
    async with serve_fakes() as fakes:
        fakes.add_event(3, price=1250, capacity=10)
        async with running(create_app(saga_settings(fakes.url))) as client:
            saga = await wait_for(client, await start(client, booking(3, seats=4, ticketPrice=1250)))
            assert saga["status"] == "COMPLETED"
            paid = next(c for c in fakes.calls if c.route == "pay")
            assert paid.key == f"{saga['sagaId']}:PROCESS_PAYMENT"
            assert paid.body == {
                "reservationId": saga["reservationId"],
                "userId": "user-1",
                "amount": "5000",  # a decimal string, never a binary float
                "currency": "XOF",
                "paymentMethod": "mobile_money",
            }
            assert saga["paymentId"] == "1" and Decimal(saga["amount"]) == 5000


async def test_a_declined_payment_compensates_with_the_reason():
    async with serve_fakes() as fakes:
        fakes.add_event(3, price=600_000, capacity=10)
        async with running(create_app(saga_settings(fakes.url))) as client:
            saga = await wait_for(client, await start(client, booking(3, seats=2, ticketPrice=600_000)))
            assert saga["status"] == "COMPENSATED"
            assert "declined" in saga["error"]
            assert saga["paymentId"] == "1"
            assert fakes.payments["1"]["status"] == "failed"
            assert "refund" not in fakes.routes()  # a failed payment has nothing to refund


async def test_a_payment_whose_answer_was_lost_is_settled_by_its_idempotency_key():
    async with serve_fakes() as fakes:
        fakes.add_event(3, price=1000, capacity=10)
        fakes.modes["pay"] = "lost"
        async with running(create_app(saga_settings(fakes.url))) as client:
            saga = await wait_for(client, await start(client, booking(3, seats=1, ticketPrice=1000)))
            assert saga["status"] == "COMPLETED", saga
            assert fakes.routes().count("fence_pay") == 1
            assert len(fakes.payments) == 1  # charged once, whatever the retries
            assert saga["paymentId"] == "1"


async def test_a_payment_service_that_never_answers_compensates_after_its_retries():
    async with serve_fakes() as fakes:
        fakes.add_event(3, price=1000, capacity=10)
        fakes.modes["pay"] = "error"
        async with running(create_app(saga_settings(fakes.url))) as client:
            saga = await wait_for(client, await start(client, booking(3, seats=1, ticketPrice=1000)))
            assert saga["status"] == "COMPENSATED", saga
            assert fakes.routes().count("pay") == 2  # first try + one retry (http_retries=1)
            assert steps_of(saga, "compensation") == ["CANCEL_RESERVATION", "RELEASE_SEATS"]
            assert fakes.events[3]["bookedSeats"] == 0


async def test_a_free_event_charges_nothing_and_completes():
    async with serve_fakes() as fakes:
        fakes.add_event(3, price=0, capacity=10)
        async with running(create_app(saga_settings(fakes.url))) as client:
            saga = await wait_for(client, await start(client, booking(3, seats=2, ticketPrice=0)))
            assert saga["status"] == "COMPLETED"
            assert "pay" not in fakes.routes() and saga["paymentId"] is None
