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
            "compute the bookable seats: capacity minus booked minus a 5 % safety margin rounded up, "
            "never below 0"
        ),
    ),
    Exercise(
        "DB2",
        "atomic booking with optimistic locking",
        "test_db2_optimistic_booking.py",
        (
            "write the seats with UPDATE ... WHERE id = :id AND version = :v and retry a bounded number "
            "of times when the version moved"
        ),
    ),
    Exercise(
        "DB3",
        "reservation statistics by an aggregation pipeline",
        "test_db3_reservation_stats.py",
        (
            "compute the reservation statistics in one MongoDB aggregation pipeline ($match then $group),"
            " cancelled seats not counted as sold"
        ),
    ),
    Exercise(
        "DB4",
        "a timeline entry with each status change, atomically",
        "test_db4_timeline_on_status_change.py",
        "append a timeline entry in the same atomic update as the status change",
    ),
    Exercise(
        "POLY1",
        "a Redis cache manager that never breaks a request",
        "test_poly1_cache_manager.py",
        "make every cache operation survive Redis being down: a miss or a no-op, never an error",
    ),
    Exercise(
        "POLY2",
        "a payment cached as JSON under payment:{id}, TTL 3600 s",
        "test_poly2_payment_cache_key.py",
        "store a payment as JSON under the key payment:{id} with the configured TTL (3600 s)",
    ),
    Exercise(
        "POLY3",
        "cache-aside reads, invalidation, version-guarded fill",
        "test_poly3_cache_aside.py",
        (
            "read a payment from the cache first, else from PostgreSQL, and fill the cache only when no "
            "newer version is cached"
        ),
    ),
    Exercise(
        "POLY4",
        "occupancy rate",
        "test_poly4_occupancy_rate.py",
        "compute occupancy = booked / capacity x 100 rounded to two decimals, 0 for a capacity of 0",
    ),
    Exercise(
        "POLY5",
        "the search document updated in real time from messages",
        "test_poly5_realtime_metrics.py",
        (
            "apply a booking message to the search document, never letting an older message overwrite a "
            "newer state"
        ),
    ),
    Exercise(
        "SAGA1",
        "start and orchestrate a saga (202, log before each step)",
        "test_saga1_start_and_orchestrate.py",
        (
            "start a booking saga: write it to the durable log, answer 202 at once and run its steps in "
            "the background"
        ),
    ),
    Exercise(
        "SAGA2",
        "the distributed reservation step",
        "test_saga2_reservation_step.py",
        (
            "create the pending reservation through the reservation service under the key "
            "<sagaId>:CREATE_RESERVATION"
        ),
    ),
    Exercise(
        "SAGA3",
        "the distributed payment step",
        "test_saga3_payment_step.py",
        (
            "charge through the payment service under the key <sagaId>:PROCESS_PAYMENT and settle a lost "
            "answer by asking for the payment by that key"
        ),
    ),
    Exercise(
        "SAGA4",
        "compensations in reverse order",
        "test_saga4_compensation_reverse_order.py",
        "list the compensations of the completed steps in reverse order",
    ),
    Exercise(
        "ES1",
        "an aggregate's history after a version",
        "test_es1_aggregate_history.py",
        "answer an aggregate's events after fromVersion in ascending version order, at most limit of them",
    ),
    Exercise(
        "ES2",
        "events of a type in a time range",
        "test_es2_events_by_type.py",
        (
            "answer the events of a type whose occurredAt is in [fromDate, toDate], newest first, at most"
            " limit of them"
        ),
    ),
    Exercise(
        "ES3",
        "version consistency (expected = current + 1, else 409)",
        "test_es3_version_consistency.py",
        (
            "give the new event version current + 1, and refuse with a version conflict when "
            "expectedVersion is not current"
        ),
    ),
    Exercise(
        "REST1",
        "POST /api/events/{id}/book",
        "test_rest1_book_endpoint.py",
        (
            "read the seats of a booking body: a positive integer, else 400 Invalid number of seats "
            "naming the field"
        ),
    ),
)

BY_ID = {e.id: e for e in EXERCISES}
