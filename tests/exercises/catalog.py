"""The seventeen exercises of the course: id, title, the test that grades it, and the task in
one sentence (what the student edition's TODO asks for). Read by scripts/grade.sh and
scripts/student-edition.sh; standard library only, so both run it with any python3."""

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    test: str
    task: str

    @property
    def path(self) -> Path:
        return HERE / self.test


EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "DB1",
        "business validation before a write (5 % safety margin)",
        "test_db1_safety_margin.py",
        (
            "check a booking: seats > 0 and at most bookable_seats (capacity - booked - the 5 % margin), "
            "then give the new bookedSeats"
        ),
    ),
    Exercise(
        "DB2",
        "atomic booking with optimistic locking",
        "test_db2_optimistic_booking.py",
        (
            "build the guarded UPDATE ... WHERE id = :id AND version = :v that bumps the version and "
            "RETURNING the row, so it changes (and returns) nothing when the version moved"
        ),
    ),
    Exercise(
        "DB3",
        "reservation statistics by an aggregation pipeline",
        "test_db3_reservation_stats.py",
        (
            "compute the statistics in one aggregation pipeline ($match then $group with $sum/$cond): "
            "live seats, cancelled and refunded apart, revenue of confirmed only"
        ),
    ),
    Exercise(
        "DB4",
        "a timeline entry with each status change, atomically",
        "test_db4_timeline_on_status_change.py",
        "push the timeline entry in the same atomic update as the status change",
    ),
    Exercise(
        "POLY1",
        "a Redis cache manager that never breaks a request",
        "test_poly1_cache_manager.py",
        "set a key with a TTL; a Redis fault never escapes: it is counted and the answer is False",
    ),
    Exercise(
        "POLY2",
        "a payment cached as JSON under payment:{id}, TTL 3600 s",
        "test_poly2_payment_cache_key.py",
        (
            "write the payment as JSON under payment:{id} with the TTL, never over a newer version "
            "(set_if_newer)"
        ),
    ),
    Exercise(
        "POLY3",
        "cache-aside reads, invalidation, version-guarded fill",
        "test_poly3_cache_aside.py",
        (
            "answer a payment cache-aside: the cached answer on a hit, else read PostgreSQL, fill the "
            "cache and answer"
        ),
    ),
    Exercise(
        "POLY4",
        "occupancy rate",
        "test_poly4_occupancy_rate.py",
        (
            "compute occupancy = booked / capacity x 100 rounded half up to two decimals, 0 for a "
            "capacity of 0, capped at 100"
        ),
    ),
    Exercise(
        "POLY5",
        "the search document updated in real time from messages",
        "test_poly5_realtime_metrics.py",
        (
            "give the search document after an event message, or None when the message is not newer than "
            "the stored version"
        ),
    ),
    Exercise(
        "SAGA1",
        "start and orchestrate a saga (202, log before each step)",
        "test_saga1_start_and_orchestrate.py",
        (
            "write the new saga to the durable log (store.create) and drive it in the background when it "
            "was created"
        ),
    ),
    Exercise(
        "SAGA2",
        "the distributed reservation step",
        "test_saga2_reservation_step.py",
        (
            "create the pending reservation through the reservation service under the key "
            "<sagaId>:CREATE_RESERVATION, at the price the saga checked"
        ),
    ),
    Exercise(
        "SAGA3",
        "the distributed payment step",
        "test_saga3_payment_step.py",
        "charge the saga's amount through the payment service under the key <sagaId>:PROCESS_PAYMENT",
    ),
    Exercise(
        "SAGA4",
        "compensations in reverse order",
        "test_saga4_compensation_reverse_order.py",
        "list the compensations still to run, in reverse order of the steps that succeeded or may have acted",
    ),
    Exercise(
        "ES1",
        "an aggregate's history after a version",
        "test_es1_aggregate_history.py",
        "read the aggregate's events after fromVersion, ascending by version, at most limit of them",
    ),
    Exercise(
        "ES2",
        "events of a type in a time range",
        "test_es2_events_by_type.py",
        (
            "read the events of a type (in its one spelling, event_type_name) with occurredAt in "
            "[fromDate, toDate], newest first, at most limit"
        ),
    ),
    Exercise(
        "ES3",
        "version consistency (expected = current + 1, else 409)",
        "test_es3_version_consistency.py",
        "refuse an append whose expectedVersion is not the current version with a VersionConflict (409)",
    ),
    Exercise(
        "REST1",
        "POST /api/events/{id}/book",
        "test_rest1_book_endpoint.py",
        (
            "check the seats of a book or release body: a positive whole number, else InvalidSeats (400 "
            "Invalid number of seats)"
        ),
    ),
)

BY_ID = {e.id: e for e in EXERCISES}
