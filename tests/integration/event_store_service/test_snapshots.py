"""Snapshots are a cache: reconstruct answers the same state with and without them."""

import pytest

from tests.integration.event_store_service.helpers import cleanup, event_body, event_store, store_settings
from tests.support import unique

VERSIONS = [1, 49, 50, 51, 99, 100, 137, 200, 249, 250, 400]


async def replay(client, aggregate_id: str, version: int) -> dict:
    answer = await client.get(f"/api/aggregates/{aggregate_id}/reconstruct", params={"toVersion": version})
    assert answer.status_code == 200
    return answer.json()


@pytest.fixture(scope="module")
async def stream():
    """One event aggregate of 250 events, appended by a store snapshotting every 50."""
    settings = store_settings(snapshot_every=50)
    aggregate = unique("EVENT")
    try:
        async with event_store(settings, clean=False) as (_, client):
            await client.post(
                "/api/events",
                json=event_body(
                    aggregate,
                    "event.created",
                    aggregateType="EVENT",
                    eventData={"id": 1, "totalCapacity": 1000, "bookedSeats": 0},
                ),
            )
            for n in range(2, 251):
                event_type, data = (
                    ("event.seats_booked", {"seats": 3}) if n % 3 else ("event.updated", {"name": f"v{n}"})
                )
                if n % 7 == 0:
                    event_type, data = "event.seats_released", {"seats": 1}
                body = event_body(
                    aggregate, event_type, aggregateType="EVENT", eventData=data, expectedVersion=n - 1
                )
                assert (await client.post("/api/events", json=body)).status_code == 201
        yield settings, aggregate
    finally:
        await cleanup(settings)


async def test_snapshots_are_written_every_n_events(stream):
    settings, aggregate = stream
    async with event_store(settings, clean=False) as (_, client):
        metrics = (await client.get("/api/metrics")).json()
        assert metrics["snapshots"] == 5
        at_137 = await replay(client, aggregate, 137)
        assert (at_137["fromSnapshot"], at_137["eventsApplied"]) == (100, 37)


async def test_the_state_is_the_same_with_and_without_snapshots(stream):
    settings, aggregate = stream
    async with event_store(settings, clean=False) as (_, with_snapshots):
        snapshotted = [await replay(with_snapshots, aggregate, v) for v in VERSIONS]
    plain_settings = settings.model_copy(update={"snapshot_every": 0})
    async with event_store(plain_settings, clean=False) as (_, without):
        replayed = [await replay(without, aggregate, v) for v in VERSIONS]
    for a, b in zip(snapshotted, replayed, strict=True):
        assert (a["version"], a["state"]) == (b["version"], b["state"])
        assert b["fromSnapshot"] is None
        assert b["eventsApplied"] == b["version"]
    assert snapshotted[-1]["version"] == 250
    assert snapshotted[-1]["fromSnapshot"] == 250
    booked = replayed[-1]["state"]["bookedSeats"]
    assert replayed[-1]["state"]["availableSeats"] == 1000 - booked


async def test_a_lost_snapshot_is_rebuilt_by_the_next_replay(stream):
    settings, aggregate = stream
    async with event_store(settings, clean=False) as (app, client):
        before = await replay(client, aggregate, 180)
        await app.state.database["snapshots"].delete_many({"aggregateId": aggregate, "version": 150})
        rebuilt = await replay(client, aggregate, 180)
        assert rebuilt["fromSnapshot"] == 100
        assert rebuilt["state"] == before["state"]
        again = await replay(client, aggregate, 180)
        assert again["fromSnapshot"] == 150
