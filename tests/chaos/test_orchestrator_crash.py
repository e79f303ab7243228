"""The orchestrator killed (SIGKILL) while sagas run: its saga log in PostgreSQL lets the
restarted one finish or compensate every saga, and no seat leaks. `fleet start` brings back
only what is down."""

from fleetctl.fleet import BY_NAME
from tests.chaos.tools import ChaosFleet, wait_until


def test_sagas_survive_an_orchestrator_killed_mid_flight(chaos: ChaosFleet):
    event = chaos.create_event(capacity=400, price=2500)
    bookings = [chaos.booking(event, seats=1 + n % 3) for n in range(24)]
    saga_ids = chaos.start_sagas(bookings)

    chaos.fleet.kill("saga_orchestrator")
    chaos.fleet.start(["saga_orchestrator"], quiet=True)

    sagas = chaos.wait_sagas(saga_ids)
    assert {s["status"] for s in sagas} <= {"COMPLETED", "COMPENSATED"}, [s["status"] for s in sagas]
    completed_seats = sum(
        b["seats"] for b, s in zip(bookings, sagas, strict=True) if s["status"] == "COMPLETED"
    )
    assert chaos.event(event["id"])["bookedSeats"] == completed_seats
    chaos.assert_consistent()


def test_fleet_start_brings_back_only_the_service_that_is_down(chaos: ChaosFleet):
    fleet = chaos.fleet
    before = {s.package: fleet.pid(s) for s, _, _ in fleet.status()}
    assert all(before.values()), before

    fleet.kill("notification_service")
    assert fleet.pid(BY_NAME["notification_service"]) is None
    fleet.start(quiet=True)

    after = {s.package: fleet.pid(s) for s, _, _ in fleet.status()}
    assert after["notification_service"] not in (None, before["notification_service"])
    assert {k: v for k, v in after.items() if k != "notification_service"} == {
        k: v for k, v in before.items() if k != "notification_service"
    }
    wait_until(lambda: chaos.ready("notification_service") == 200, 30, "notification service ready")
