"""A participant (payment, then reservation) stopped while sagas run, then started again:
each saga completes or compensates, and afterwards no seat, reservation or payment is left
over (`fleet check`)."""

import time

import pytest

from tests.chaos.tools import ChaosFleet

# Long enough for the saga's retries of one call to run out (it compensates), short enough
# for the test to stay quick.
DOWN_SECONDS = 4


@pytest.mark.parametrize("participant", ["payment_service", "reservation_service"])
def test_sagas_retry_or_compensate_around_a_stopped_participant(chaos: ChaosFleet, participant: str):
    event = chaos.create_event(capacity=300, price=1500)
    before = [chaos.booking(event, seats=2) for _ in range(4)]
    during = [chaos.booking(event, seats=1) for _ in range(8)]
    saga_ids = chaos.start_sagas(before)

    chaos.fleet.stop([participant])
    try:
        saga_ids += chaos.start_sagas(during)
        time.sleep(DOWN_SECONDS)  # the outage itself, not a wait for an effect
    finally:
        chaos.fleet.start([participant], quiet=True)

    sagas = chaos.wait_sagas(saga_ids)
    statuses = [s["status"] for s in sagas]
    assert set(statuses) <= {"COMPLETED", "COMPENSATED"}, statuses
    seats = [b["seats"] for b in before + during]
    booked = sum(n for n, s in zip(seats, sagas, strict=True) if s["status"] == "COMPLETED")
    assert chaos.event(event["id"])["bookedSeats"] == booked
    chaos.assert_consistent()
