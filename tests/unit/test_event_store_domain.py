"""Event-store rules without a database: the version rule, type names, reducers."""

import pytest

from event_store_service.domain import (
    VersionConflict,
    apply_event,
    check_event_data,
    event_type_name,
    next_version,
    snapshot_due,
    stream_id,
)
from shared.contracts import RoutingKey
from shared.errors import RuleBroken


def fold_events(aggregate_type: str, state: dict, events: list[dict]) -> dict:
    """Stored events (eventType, eventData), oldest first, folded into `state` as a replay does."""
    for event in events:
        state = apply_event(aggregate_type, state, str(event["eventType"]), event.get("eventData") or {})
    return state


def events(*pairs: tuple[str, dict]) -> list[dict]:
    return [{"eventType": t, "eventData": d} for t, d in pairs]


# --- ES3 ---------------------------------------------------------------------------------


def test_a_new_event_gets_the_current_version_plus_one():
    assert next_version("A-1", 0, 0) == 1
    assert next_version("A-1", 7, 7) == 8
    assert next_version("A-1", 7, None) == 8


def test_a_stale_expected_version_is_a_conflict_naming_both_versions():
    with pytest.raises(VersionConflict) as caught:
        next_version("A-1", 3, 2)
    assert caught.value.status == 409
    assert caught.value.extra["expectedVersion"] == 2
    assert caught.value.extra["currentVersion"] == 3


def test_an_expected_version_ahead_of_the_stream_is_a_conflict_too():
    with pytest.raises(VersionConflict):
        next_version("A-1", 0, 5)


# --- names -------------------------------------------------------------------------------


def test_an_event_type_has_one_spelling_the_routing_keys():
    assert event_type_name("RESERVATION_CREATED") == "reservation.created"
    assert event_type_name(" EVENT_SEATS_BOOKED ") == "event.seats_booked"
    assert event_type_name("event.seats_booked") == "event.seats_booked"
    assert event_type_name("SAGA_STEP_COMPLETED") == "saga.step_completed"
    # Types outside that form are the client's own names, kept as given.
    assert event_type_name("SeatsHeld") == "SeatsHeld"
    assert event_type_name("bench.counted") == "bench.counted"
    assert {event_type_name(t) for t in RoutingKey} == {t.value for t in RoutingKey}
    assert {event_type_name(t.name) for t in RoutingKey} == {t.value for t in RoutingKey}


def test_a_message_becomes_an_event_of_its_typed_aggregate():
    assert stream_id("reservation", "abc") == "RESERVATION-abc"
    assert stream_id("SAGA", "42") == "SAGA-42"


def test_event_data_that_bson_cannot_hold_is_refused():
    with pytest.raises(RuleBroken):
        check_event_data({"a": {"$set": 1}})
    with pytest.raises(RuleBroken):
        check_event_data({"n": [1, 2**64]})
    check_event_data({"a.b": [1, {"c": None}], "ok": True, "big": 2**63 - 1})


# --- reducers ----------------------------------------------------------------------------

RESERVATION = {"id": "r1", "eventId": 3, "bookingDetails": {"seats": 2, "totalAmount": 100}}


def test_a_reservation_is_pending_when_created_then_follows_its_status():
    created = fold_events("RESERVATION", {}, events(("reservation.created", {**RESERVATION, "status": "x"})))
    assert created["status"] == "pending"
    assert created["bookingDetails"]["seats"] == 2
    confirmed = apply_event("RESERVATION", created, "RESERVATION_CONFIRMED", {"version": 2})
    assert confirmed["status"] == "confirmed"
    assert confirmed["bookingDetails"] == RESERVATION["bookingDetails"]
    assert confirmed["version"] == 2
    assert created["status"] == "pending", "folding never mutates the earlier state"
    refunded = fold_events(
        "reservation", confirmed, events(("reservation.cancelled", {}), ("reservation.refunded", {}))
    )
    assert refunded["status"] == "refunded"


def test_seat_messages_carry_the_event_as_it_is_now():
    state = fold_events(
        "EVENT",
        {},
        events(
            ("event.created", {"id": 1, "totalCapacity": 10, "bookedSeats": 0, "availableSeats": 10}),
            ("event.seats_booked", {"id": 1, "bookedSeats": 3, "availableSeats": 7, "seats": 3}),
        ),
    )
    assert state["bookedSeats"] == 3
    assert state["availableSeats"] == 7
    assert "seats" not in state


def test_seat_events_without_the_full_event_count_seats():
    state = fold_events(
        "EVENT",
        {},
        events(
            ("EVENT_CREATED", {"totalCapacity": 10, "bookedSeats": 0}),
            ("EVENT_SEATS_BOOKED", {"seats": 4}),
            ("EVENT_SEATS_RELEASED", {"seats": 1}),
            ("event.updated", {"name": "Jazz"}),
        ),
    )
    assert (state["bookedSeats"], state["availableSeats"], state["name"]) == (3, 7, "Jazz")
    assert state["deleted"] is False
    assert apply_event("EVENT", state, "event.deleted", {})["deleted"] is True


def test_payment_status_follows_its_events():
    state = fold_events(
        "PAYMENT",
        {},
        events(("payment.completed", {"id": "p", "amount": 5}), ("payment.refunded", {"amount": 5})),
    )
    assert state == {"id": "p", "amount": 5, "status": "refunded"}
    assert apply_event("PAYMENT", {}, "PAYMENT_FAILED", {"failureReason": "declined"})["status"] == "failed"


def test_a_saga_keeps_its_steps_and_ends_with_its_outcome():
    state = fold_events(
        "SAGA",
        {},
        events(
            ("SAGA_STARTED", {"sagaId": "s", "status": "STARTED"}),
            ("SAGA_STEP_COMPLETED", {"step": "RESERVE_SEATS"}),
            ("booking.compensated", {"reason": "declined"}),
        ),
    )
    assert state["status"] == "COMPENSATED"
    assert [s["event"] for s in state["steps"]] == ["saga.started", "saga.step_completed"]
    assert state["reason"] == "declined"
    assert apply_event("SAGA", {}, "booking.confirmed", {"sagaId": "s"})["status"] == "COMPLETED"


def test_unknown_aggregate_types_and_events_shallow_merge_their_data():
    state = fold_events("CART", {}, events(("cart.opened", {"a": 1, "b": {"x": 1}}), ("x", {"b": {"y": 2}})))
    assert state == {"a": 1, "b": {"y": 2}}
    assert apply_event("RESERVATION", {"a": 1}, "reservation.noted", {"note": "n"}) == {"a": 1, "note": "n"}


def test_snapshots_fall_on_multiples_and_can_be_disabled():
    assert [v for v in range(1, 251) if snapshot_due(v, 50)] == [50, 100, 150, 200, 250]
    assert not any(snapshot_due(v, 0) for v in range(1, 300))
