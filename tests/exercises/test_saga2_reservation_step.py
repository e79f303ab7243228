"""SAGA2: the distributed reservation step. The saga creates a pending reservation linked to
it (its seats are already held by RESERVE_SEATS), under the key <sagaId>:CREATE_RESERVATION,
and confirms it once paid; a refused reservation releases the seats.

The first test runs the step itself, so it needs no other exercise; the others run whole
sagas (SAGA1 starts them)."""

from saga_orchestrator.app import create_app
from saga_orchestrator.clients import Participants
from saga_orchestrator.domain import Step
from tests.integration.saga_orchestrator.fakes import serve_fakes
from tests.integration.saga_orchestrator.helpers import (
    booking,
    booking_saga,
    outbox,
    saga_settings,
    start,
    steps_of,
    wait_for,
)
from tests.support import running


async def test_the_step_creates_a_pending_reservation_under_the_sagas_key():
    async with serve_fakes() as fakes:
        fakes.add_event(7, price=2500, capacity=10)
        saga = booking_saga(booking(7, seats=2, ticketPrice=2500, userPhone=None))
        participants = Participants(saga_settings(fakes.url))
        try:
            outcome = await participants.run_step(Step.CREATE_RESERVATION, saga)
        finally:
            await participants.aclose()
        assert outcome.ok, outcome
        [created] = fakes.calls
        assert (created.route, created.key) == ("create_reservation", f"{saga.id}:CREATE_RESERVATION")
        assert created.body == {
            "eventId": 7,
            "userId": "user-1",
            "userDetails": {"name": "Awa Diop", "email": "awa@example.com"},
            "bookingDetails": {"seats": 2, "currency": "XOF", "ticketPrice": "2500"},
            "sagaId": str(saga.id),
        }
        reservation = fakes.reservations[outcome.fields["reservation_id"]]
        assert reservation["status"] == "pending" and reservation["sagaId"] == str(saga.id)


async def test_the_reservation_is_created_pending_for_the_saga_then_confirmed():
    async with serve_fakes() as fakes:
        fakes.add_event(7, price=2500, capacity=10)
        async with running(create_app(saga_settings(fakes.url))) as client:
            saga_id = await start(client, booking(7, seats=2, ticketPrice=2500, userPhone=None))
            saga = await wait_for(client, saga_id)
            assert saga["status"] == "COMPLETED"

            created = next(c for c in fakes.calls if c.route == "create_reservation")
            assert created.key == f"{saga_id}:CREATE_RESERVATION"
            assert created.body == {
                "eventId": 7,
                "userId": "user-1",
                "userDetails": {"name": "Awa Diop", "email": "awa@example.com"},
                # the price the saga checked at its start and charges
                "bookingDetails": {"seats": 2, "currency": "XOF", "ticketPrice": "2500"},
                "sagaId": saga_id,
            }
            confirm = next(c for c in fakes.calls if c.route == "confirm")
            assert confirm.key == f"{saga_id}:CONFIRM_RESERVATION"
            assert confirm.body["status"] == "confirmed"
            reservation = fakes.reservations[saga["reservationId"]]
            assert reservation["status"] == "confirmed" and reservation["sagaId"] == saga_id


async def test_a_refused_reservation_releases_the_seats_and_charges_nothing():
    async with serve_fakes() as fakes:
        fakes.add_event(7, price=2500, capacity=10)
        fakes.modes["create_reservation"] = "refuse"
        settings = saga_settings(fakes.url)
        async with running(create_app(settings)) as client:
            saga = await wait_for(client, await start(client, booking(7, ticketPrice=2500)))
            assert saga["status"] == "COMPENSATED"
            assert "CREATE_RESERVATION" in saga["error"]
            assert steps_of(saga, "compensation") == ["RELEASE_SEATS"]
            assert fakes.events[7]["bookedSeats"] == 0
            assert "pay" not in fakes.routes()
            assert [m["type"] for m in outbox(settings.database_url)] == ["booking.compensated"]


async def test_a_reservation_whose_answer_was_lost_is_found_again_and_cancelled():
    async with serve_fakes() as fakes:
        fakes.add_event(7, price=2500, capacity=10)
        fakes.modes["create_reservation"] = "lost"
        async with running(create_app(saga_settings(fakes.url))) as client:
            saga_id = await start(client, booking(7, ticketPrice=2500))
            saga = await wait_for(client, saga_id, {"COMPENSATING", "COMPENSATED", "COMPENSATION_FAILED"})
            fakes.modes.clear()  # the reservation service answers again
            saga = await wait_for(client, saga_id)
            assert saga["status"] == "COMPENSATED", saga
            assert steps_of(saga, "compensation") == ["CANCEL_RESERVATION", "RELEASE_SEATS"]
            assert [r["status"] for r in fakes.reservations.values()] == ["cancelled"]
            assert fakes.events[7]["bookedSeats"] == 0
