"""`fleet check`'s event-store rule for reservations: every reservation has its stream, except a
direct one the event service refused at once (never announced: no message, no stream)."""

from typing import Any

from fleetctl.check import _Checker


class _History:
    """The event store's history as check reads it: None for a stream that does not exist."""

    def __init__(self, streams: dict[str, list[dict[str, Any]]]) -> None:
        self.streams = streams

    async def history(self, aggregate_id: str) -> list[dict[str, Any]] | None:
        return self.streams.get(aggregate_id)


def _checker(streams: dict[str, list[dict[str, Any]]]) -> _Checker:
    return _Checker(
        _History(streams),  # type: ignore[arg-type]
        queue_prefix="",
        rabbitmq_api="http://127.0.0.1:15672",
        rabbitmq_auth=("guest", "guest"),
        stuck_seconds=60,
        check_event_store=True,
    )


async def test_a_refused_direct_reservation_needs_no_stream():
    refused = {"id": "r1", "status": "cancelled", "seatHold": "refused"}
    assert await _checker({})._reservation_stream(refused) == []


async def test_any_other_reservation_without_a_stream_is_reported():
    for hold in ("held", "released", "resolving", None):
        reservation = {"id": "r2", "status": "cancelled", "seatHold": hold}
        problems = await _checker({})._reservation_stream(reservation)
        assert [(p.check, p.subject, p.actual) for p in problems] == [
            ("event_store", "RESERVATION-r2", "none")
        ]


async def test_a_refused_reservation_with_a_stream_is_still_compared():
    stream = {"RESERVATION-r3": [{"version": 1, "eventData": {"status": "pending"}}]}
    refused = {"id": "r3", "status": "cancelled", "seatHold": "refused"}
    problems = await _checker(stream)._reservation_stream(refused)
    assert [p.actual for p in problems] == ["pending"]
