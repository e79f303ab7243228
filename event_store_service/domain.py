"""Event-sourcing rules of the Event store: the version rule (ES3), event-type names, and
the reducers that fold an aggregate's events into its state. Plain code: no I/O, no clock."""

import re
from collections.abc import Callable, Mapping
from typing import Any

from shared.contracts import RoutingKey
from shared.errors import Conflict, RuleBroken, field_error

State = dict[str, Any]
Reducer = Callable[[State, Mapping[str, Any]], State]

# Bumped when a reducer changes meaning: snapshots of another schema are ignored (and rebuilt),
# since a snapshot is only a cache of what the reducers would compute.
SNAPSHOT_SCHEMA = 1

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class VersionConflict(Conflict):
    """The caller's expected version is not the aggregate's current version (ES3)."""

    def __init__(self, aggregate_id: str, expected: int, current: int) -> None:
        super().__init__(
            f"Aggregate {aggregate_id} is at version {current}, not {expected}: "
            "re-read its history and retry.",
            extra={"aggregateId": aggregate_id, "expectedVersion": expected, "currentVersion": current},
        )
        self.expected = expected
        self.current = current


class AggregateTypeMismatch(Conflict):
    """An aggregate keeps the type its first event gave it."""

    def __init__(self, aggregate_id: str, stored: str, given: str) -> None:
        super().__init__(
            f"Aggregate {aggregate_id} is a {stored}, not a {given}.",
            extra={"aggregateId": aggregate_id, "aggregateType": stored},
        )


class EventIdReused(Conflict):
    """An eventId names one event: a second, different event under it is refused."""

    def __init__(self, event_id: str) -> None:
        super().__init__(
            f"eventId {event_id} is already stored for a different event.",
            extra={"eventId": event_id},
        )


def same_event(
    stored: Mapping[str, Any],
    aggregate_id: str,
    aggregate_type: str,
    event_type: str,
    event_data: Mapping[str, Any],
) -> bool:
    """Whether a retried append describes the stored event (metadata may differ: a retry
    carries a new correlation id)."""
    return (
        stored["aggregateId"] == aggregate_id
        and stored["aggregateType"] == aggregate_type_key(aggregate_type)
        and event_type_name(stored["eventType"]) == event_type_name(event_type)
        and stored["eventData"] == event_data
    )


def next_version(aggregate_id: str, current: int, expected: int | None) -> int:
    # exercise ES3, level 2: begin
    """The version a new event gets (ES3), given the aggregate's `current` version and
    `expected`, the version the caller last saw (0 for a new aggregate; None: not checked)."""
    if expected is None:
        return current + 1
    # exercise ES3: begin
    if expected != current:
        raise VersionConflict(aggregate_id, expected, current)
    # exercise ES3: end
    return current + 1
    # exercise ES3, level 2: end


def aggregate_type_key(aggregate_type: str) -> str:
    """ "Reservation", "reservation" and "RESERVATION" name one aggregate type."""
    return aggregate_type.strip().upper()


# AGGREGATE_ACTION: the upper-case name of a routing key ("RESERVATION_CREATED").
UPPER_CASE_NAME = re.compile(r"^[A-Z][A-Z0-9-]*(_[A-Z0-9-]+)+$")


def event_type_name(event_type: str) -> str:
    """The one spelling of an event type, the message contract's (RoutingKey): an upper-case
    name ("RESERVATION_CREATED", "SAGA_STARTED") is written as its routing key
    ("reservation.created", "saga.started"); any other type is kept as given. Appends store
    it, queries match it, and the store rewrites older spellings once (EventStore.ensure_indexes)."""
    name = event_type.strip()
    if UPPER_CASE_NAME.match(name):
        return name.lower().replace("_", ".", 1)
    return name


def stream_id(aggregate_type: str, aggregate_id: str) -> str:
    """The event store's aggregate id of a domain message: RESERVATION-<id>, SAGA-<id>..."""
    return f"{aggregate_type_key(aggregate_type)}-{aggregate_id}"


def check_event_data(value: Any, path: str = "eventData") -> None:
    """Refuse what a BSON document cannot hold (keys starting with '$', integers beyond 64
    bits), so a bad payload is a 422, never a 500 from the driver."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("$") or "\x00" in key:
                raise RuleBroken(
                    "Invalid key in event data.",
                    errors=[field_error(f"{path}.{key}", "keys may not start with '$'")],
                )
            check_event_data(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_event_data(item, f"{path}[{index}]")
    elif isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        raise RuleBroken(
            "Integer out of range in event data.",
            errors=[field_error(path, "integers must fit in 64 bits")],
        )


# --- reducers ------------------------------------------------------------------------------


def routing_key_of(event_type: str) -> RoutingKey | None:
    """The message an event type names ("reservation.created", or "RESERVATION_CREATED" as an
    older append spelt it); None for a type outside the contract."""
    try:
        return RoutingKey(event_type_name(event_type))
    except ValueError:
        return None


def merge(state: State, data: Mapping[str, Any]) -> State:
    """The generic fold: eventData shallow-merged into the state (later events win)."""
    return {**state, **data}


def _with_status(status: str) -> Reducer:
    def reduce(state: State, data: Mapping[str, Any]) -> State:
        return {**merge(state, data), "status": status}

    return reduce


def _created(extra: State) -> Reducer:
    def reduce(_: State, data: Mapping[str, Any]) -> State:
        return {**data, **extra}

    return reduce


def _seats(sign: int) -> Reducer:
    def reduce(state: State, data: Mapping[str, Any]) -> State:
        fields = {k: v for k, v in data.items() if k != "seats"}
        if "bookedSeats" in fields:  # the message carries the event as it now is: the truth
            return merge(state, fields)
        booked = int(state.get("bookedSeats", 0)) + sign * int(data.get("seats", 0))
        new = {**merge(state, fields), "bookedSeats": booked}
        if "totalCapacity" in state:
            new["availableSeats"] = int(state["totalCapacity"]) - booked
        return new

    return reduce


def _saga_ended(status: str) -> Reducer:
    def reduce(state: State, data: Mapping[str, Any]) -> State:
        return {**merge(state, data), "status": data.get("status") or status}

    return reduce


def _deleted(state: State, data: Mapping[str, Any]) -> State:
    return {**merge(state, data), "deleted": True}


# The reducer of each routing key that changes more than its data says (event.updated only
# merges); any other event merges its data.
REDUCERS: dict[RoutingKey, Reducer] = {
    RoutingKey.RESERVATION_CREATED: _created({"status": "pending"}),
    RoutingKey.RESERVATION_CONFIRMED: _with_status("confirmed"),
    RoutingKey.RESERVATION_CANCELLED: _with_status("cancelled"),
    RoutingKey.RESERVATION_REFUNDED: _with_status("refunded"),
    RoutingKey.EVENT_CREATED: _created({"deleted": False}),
    RoutingKey.EVENT_SEATS_BOOKED: _seats(+1),
    RoutingKey.EVENT_SEATS_RELEASED: _seats(-1),
    RoutingKey.EVENT_DELETED: _deleted,
    RoutingKey.PAYMENT_COMPLETED: _with_status("completed"),
    RoutingKey.PAYMENT_FAILED: _with_status("failed"),
    RoutingKey.PAYMENT_REFUNDED: _with_status("refunded"),
    RoutingKey.BOOKING_CONFIRMED: _saga_ended("COMPLETED"),
    RoutingKey.BOOKING_COMPENSATED: _saga_ended("COMPENSATED"),
    # The stream of a cancellation saga (its own sagaId).
    RoutingKey.BOOKING_CANCELLED: _saga_ended("COMPLETED"),
    RoutingKey.BOOKING_CANCELLATION_FAILED: _saga_ended("COMPENSATED"),
}
# The aggregate type of each routing key's first word (a booking is a saga's outcome).
AGGREGATE_OF = {"event": "EVENT", "reservation": "RESERVATION", "payment": "PAYMENT", "booking": "SAGA"}


def _saga_step(state: State, event_type: str, data: Mapping[str, Any]) -> State:
    # Step events (saga.started, saga.step_completed, ...) add to the step log.
    new = merge(state, {k: v for k, v in data.items() if k != "steps"})
    new["steps"] = [*state.get("steps", []), {"event": event_type_name(event_type), **data}]
    return new


def apply_event(aggregate_type: str, state: State, event_type: str, data: Mapping[str, Any]) -> State:
    """The state after one event: the reducer of its routing key when the key belongs to the
    aggregate's type, a saga's step log for its step events, else eventData shallow-merged.
    Never mutates `state`."""
    aggregate = aggregate_type_key(aggregate_type)
    key = routing_key_of(event_type)
    if key is not None and AGGREGATE_OF[key.aggregate] == aggregate:
        return REDUCERS.get(key, merge)(state, data)
    if aggregate == "SAGA" and event_type_name(event_type).startswith("saga."):
        return _saga_step(state, event_type, data)
    return merge(state, data)


def snapshot_due(version: int, every: int) -> bool:
    return every > 0 and version > 0 and version % every == 0
