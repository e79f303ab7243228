"""Appends in batches (the recorder's): each aggregate's events land at its next versions in
the order given, gapless, whatever the batch holds (events stored already, a bad one, an
aggregate of another type, another process appending meanwhile); and a batch handled but not
acknowledged before a crash is recorded once when it is delivered again."""

import asyncio
from collections.abc import Sequence

import pytest

from event_store_service.domain import AggregateTypeMismatch
from event_store_service.messaging import RECORDER, batch_recorder
from event_store_service.service import EventLog
from event_store_service.store import EventStore, NewEvent
from shared import mongo
from shared.contracts import Envelope, PaymentCompleted, PaymentRefunded
from shared.errors import RuleBroken
from shared.messaging.broker import Broker, Consumer, Outcomes
from tests.integration.event_store_service.helpers import event_store, store_settings
from tests.messages import a_payment
from tests.support import eventually, unique


@pytest.fixture
async def stores():
    settings = store_settings()
    client = mongo.make_client(settings.mongo_url)
    database = client[settings.mongo_database]
    try:
        first = EventLog(EventStore(database), snapshot_every=3)
        second = EventLog(EventStore(database), snapshot_every=3)
        await first.store.ensure_indexes()
        yield first, second
    finally:
        await client.drop_database(settings.mongo_database)
        await client.close()


def event(aggregate_id: str, n: int, *, kind: str = "EVENT", data: dict | None = None) -> NewEvent:
    return NewEvent(
        aggregate_id=aggregate_id,
        aggregate_type=kind,
        event_type="event.updated",
        event_data=data if data is not None else {"name": f"v{n}"},
        event_id=f"{aggregate_id}-e{n}",
    )


async def versions(store: EventLog, aggregate_id: str) -> list[tuple[int, str]]:
    _, _, events = await store.history(aggregate_id, 0, 1000)
    return [(e["version"], e["eventId"]) for e in events]


async def test_a_batch_appends_each_aggregate_in_order_at_its_next_versions(stores):
    store, _ = stores
    a, b = unique("EVENT"), unique("EVENT")
    await store.append(event(a, 0))
    batch = [event(a, 1), event(b, 1), event(a, 2), event(b, 2), event(a, 3)]
    results = await store.append_many(batch)
    assert [(r[0]["aggregateId"], r[0]["version"], r[1]) for r in results] == [
        (a, 2, True),
        (b, 1, True),
        (a, 3, True),
        (b, 2, True),
        (a, 4, True),
    ]
    assert await versions(store, a) == [(1, f"{a}-e0"), (2, f"{a}-e1"), (3, f"{a}-e2"), (4, f"{a}-e3")]
    assert await versions(store, b) == [(1, f"{b}-e1"), (2, f"{b}-e2")]
    # Snapshots every 3 versions, as single appends take them.
    replay = await store.reconstruct(a, 3)
    assert replay.from_snapshot == 3 and replay.state["name"] == "v2"


async def test_events_stored_already_bad_ones_and_another_type_fail_alone_and_leave_no_gap(stores):
    store, _ = stores
    a, b = unique("EVENT"), unique("EVENT")
    await store.append(event(a, 1))
    await store.append(event(b, 1, kind="SAGA"))
    batch = [
        event(a, 2),
        event(a, 1),  # a redelivery: stored already
        event(a, 3, data={"$where": "bad"}),  # what BSON cannot hold
        event(b, 2),  # b is a SAGA
        event(a, 4),
        event(a, 2),  # twice in one batch
        event(a, 5),
    ]
    results = await store.append_many(batch)
    created = [r[1] if isinstance(r, tuple) else type(r) for r in results]
    assert created == [True, False, RuleBroken, AggregateTypeMismatch, True, False, True]
    assert isinstance(results[1], tuple) and results[1][0]["version"] == 1
    assert isinstance(results[5], tuple) and results[5][0]["version"] == 2
    assert await versions(store, a) == [(1, f"{a}-e1"), (2, f"{a}-e2"), (3, f"{a}-e4"), (4, f"{a}-e5")]
    assert await versions(store, b) == [(1, f"{b}-e1")]


async def test_a_batch_after_another_process_moved_on_stays_gapless(stores):
    first, second = stores
    a = unique("EVENT")
    await first.append(event(a, 1))  # `first` now remembers version 1
    await second.append(event(a, 2))
    await second.append(event(a, 3))
    results = await first.append_many([event(a, 4), event(a, 2), event(a, 5)])
    assert [(r[0]["version"], r[1]) for r in results if isinstance(r, tuple)] == [
        (4, True),
        (2, False),
        (5, True),
    ]
    # Both processes batching on one aggregate at once.
    batches = [[event(a, n) for n in range(10 + 10 * k, 20 + 10 * k)] for k in range(4)]
    await asyncio.gather(
        *(store.append_many(b) for store, b in zip([first, second] * 2, batches, strict=True))
    )
    stored = await versions(first, a)
    assert [v for v, _ in stored] == list(range(1, len(stored) + 1))
    assert len(stored) == 5 + 40
    assert len({e for _, e in stored}) == len(stored)


async def test_a_batch_recorded_but_not_acknowledged_before_a_crash_is_recorded_once():
    settings = store_settings()
    async with event_store(settings) as (app, client):
        log: EventLog = app.state.log
        await app.state.broker.close()  # this test runs the recorder's consumers itself
        record = batch_recorder(log)
        crashed: list[list[str]] = []

        async def record_then_crash(envelopes: Sequence[Envelope]) -> Outcomes:
            await record(envelopes)
            crashed.append([e.message_id for e in envelopes])
            await asyncio.Event().wait()  # the process dies here, before the acknowledgement
            raise AssertionError("unreachable")

        redelivered: list[str] = []

        async def survive(envelopes: Sequence[Envelope]) -> Outcomes:
            outcomes = await record(envelopes)
            redelivered.extend(e.message_id for e in envelopes)
            return outcomes

        pid = int(unique().rsplit("_", 1)[-1], 16)
        messages = [a_payment(PaymentCompleted, pid).envelope(), a_payment(PaymentRefunded, pid).envelope()]
        crashing = Broker(settings)
        crashing.add_consumer(Consumer(RECORDER, ["#"], batch=record_then_crash))
        await crashing.start()
        await crashing.wait_connected()
        for message in messages:
            await crashing.publish(message)
        await eventually(lambda: _true(crashed))
        await crashing.close()

        survivor = Broker(settings)
        survivor.add_consumer(Consumer(RECORDER, ["#"], batch=survive))
        await survivor.start()
        try:
            await survivor.wait_connected()
            ids = {m.message_id for m in messages}
            await eventually(lambda: _true(ids <= set(redelivered)), timeout=20)
        finally:
            await survivor.close()
        history = (await client.get(f"/api/aggregates/PAYMENT-{pid}/history")).json()["events"]
    # What the crashed process had recorded was delivered again, and recorded once.
    assert set(crashed[0]) <= set(redelivered)
    assert [(e["version"], e["eventId"]) for e in history] == [
        (1, messages[0].message_id),
        (2, messages[1].message_id),
    ]


async def _true(value: object) -> bool | None:
    return bool(value) or None
