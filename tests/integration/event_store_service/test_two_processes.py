"""Two event logs on one database (two processes): what one process remembers of an aggregate's
head is only a lower bound, and every guarantee holds when the other process appends."""

import asyncio

import pytest

from event_store_service.domain import VersionConflict
from event_store_service.service import EventLog
from event_store_service.store import EventStore, NewEvent
from shared import mongo
from tests.integration.event_store_service.helpers import store_settings
from tests.support import unique


@pytest.fixture
async def stores():
    settings = store_settings()
    client = mongo.make_client(settings.mongo_url)
    database = client[settings.mongo_database]
    try:
        first = EventLog(EventStore(database), snapshot_every=5)
        second = EventLog(EventStore(database), snapshot_every=5)
        await first.store.ensure_indexes()
        yield first, second
    finally:
        await client.drop_database(settings.mongo_database)
        await client.close()


def event(aggregate_id: str, n: int, expected: int | None = None, event_id: str | None = None) -> NewEvent:
    return NewEvent(
        aggregate_id=aggregate_id,
        aggregate_type="EVENT",
        event_type="event.updated",
        event_data={"name": f"v{n}"},
        expected_version=expected,
        event_id=event_id,
    )


async def test_an_append_after_the_other_process_moved_on_takes_the_next_version(stores):
    first, second = stores
    aggregate = unique("EVENT")
    assert (await first.append(event(aggregate, 1)))[0]["version"] == 1
    assert (await second.append(event(aggregate, 2)))[0]["version"] == 2
    assert (await second.append(event(aggregate, 3)))[0]["version"] == 3
    # `first` remembers version 1: its guess is refused by the unique index, then it reads.
    assert (await first.append(event(aggregate, 4)))[0]["version"] == 4
    with pytest.raises(VersionConflict) as conflict:
        await second.append(event(aggregate, 5, expected=3))
    assert conflict.value.current == 4
    assert (await second.append(event(aggregate, 5, expected=4)))[0]["version"] == 5


async def test_a_stale_expected_version_is_a_conflict_even_when_this_process_saw_it_last(stores):
    first, second = stores
    aggregate = unique("EVENT")
    await first.append(event(aggregate, 1, expected=0))
    await second.append(event(aggregate, 2, expected=1))
    with pytest.raises(VersionConflict) as conflict:
        await first.append(event(aggregate, 3, expected=1))
    assert conflict.value.current == 2
    # The version it did not see is accepted as the expected one.
    assert (await first.append(event(aggregate, 3, expected=2)))[0]["version"] == 3


async def test_a_retried_event_is_answered_not_appended_whichever_process_stored_it(stores):
    first, second = stores
    aggregate = unique("EVENT")
    stored, created = await first.append(event(aggregate, 1, expected=0, event_id="e-1"))
    assert created
    again, created = await second.append(event(aggregate, 1, expected=0, event_id="e-1"))
    assert not created and again["version"] == stored["version"] == 1
    again, created = await first.append(event(aggregate, 1, expected=0, event_id="e-1"))
    assert not created and again["version"] == 1


async def test_racing_appends_from_two_processes_are_gapless_and_snapshots_equal_replay(stores):
    first, second = stores
    aggregate = unique("EVENT")
    await asyncio.gather(*(store.append(event(aggregate, n)) for n in range(40) for store in stores))
    history = await first.history(aggregate, 0, 1000)
    assert [e["version"] for e in history[2]] == list(range(1, 81))
    with_snapshots = await second.reconstruct(aggregate, 80)
    assert with_snapshots.from_snapshot is not None
    plain = EventLog(first.store, snapshot_every=0)
    assert (await plain.reconstruct(aggregate, 80)).state == with_snapshots.state
