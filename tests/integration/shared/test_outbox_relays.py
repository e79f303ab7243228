"""Transactional outbox against real PostgreSQL, MongoDB-wire and RabbitMQ: a committed
message is published and marked; a rolled-back one never exists, so it is never published."""

import pytest
import sqlalchemy as sa

from shared import sql
from shared.contracts import Envelope, new_envelope
from shared.messaging.broker import Consumer
from shared.messaging.mongo_outbox import MONGO_PENDING, MongoOutboxRelay, ensure_mongo_outbox, mongo_outbox
from shared.messaging.sql_outbox import SqlOutboxRelay, add_to_outbox
from shared.mongo import make_client
from tests.integration.shared.helpers import Inbox, broker_settings, connected_broker
from tests.support import MONGO_URL, create_pg_database, eventually, unique


class Boom(Exception):
    pass


async def test_sql_outbox_publishes_committed_messages_only_and_marks_them_published():
    engine = sql.make_engine(create_pg_database("events"), pool_size=2)
    async with engine.begin() as conn:
        await conn.run_sync(sql.metadata.create_all)
    inbox = Inbox()
    settings = broker_settings()
    async with connected_broker(settings, Consumer("outbox-probe", ["probe.#"], inbox)) as broker:
        relay = SqlOutboxRelay(engine, broker, interval=0.2)
        relay.start()
        try:
            rolled_back = new_envelope("probe.discarded", "PROBE", 1, {"n": 1})
            with pytest.raises(Boom):
                async with engine.begin() as conn:
                    await add_to_outbox(conn, rolled_back)
                    raise Boom  # the change failed: its message goes with it
            committed = new_envelope("probe.created", "PROBE", 2, {"n": 2})
            async with engine.begin() as conn:
                await add_to_outbox(conn, committed)
            relay.wake()

            async def delivered() -> bool:
                return committed.message_id in inbox.ids()

            await eventually(delivered)

            async def all_marked() -> list[sa.Row] | None:
                # The mark commits just after the publish.
                async with engine.connect() as conn:
                    rows = (
                        await conn.execute(sa.select(sql.outbox.c.message_id, sql.outbox.c.published_at))
                    ).all()
                return list(rows) if rows and all(r.published_at is not None for r in rows) else None

            rows = await eventually(all_marked)
        finally:
            await relay.stop()
    assert [r.message_id for r in rows] == [committed.message_id]
    assert rolled_back.message_id not in inbox.ids()
    got = next(e for e in inbox.received if e.message_id == committed.message_id)
    assert got.type == "probe.created" and got.aggregate_id == "2" and got.data == {"n": 2}
    await engine.dispose()


class CommitDuringPass(SqlOutboxRelay):
    """A relay whose first pass sees an empty outbox while a commit and its wake() happen."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.late: list[Envelope] = []

    async def relay_once(self) -> int:
        sent = await super().relay_once()
        if not self.late:
            self.late.append(new_envelope("probe.late", "PROBE", 3, {}))
            async with self.engine.begin() as conn:
                await add_to_outbox(conn, self.late[0])
            self.wake()
        return sent


async def test_a_wake_during_a_relay_pass_is_not_lost():
    engine = sql.make_engine(create_pg_database("events"), pool_size=2)
    async with engine.begin() as conn:
        await conn.run_sync(sql.metadata.create_all)
    inbox = Inbox()
    async with connected_broker(broker_settings(), Consumer("wake-probe", ["probe.#"], inbox)) as broker:
        # An hour between polls: only the wake can make the relay publish within the deadline.
        relay = CommitDuringPass(engine, broker, interval=3600)
        relay.start()
        try:

            async def delivered() -> bool:
                return bool(relay.late) and relay.late[0].message_id in inbox.ids()

            await eventually(delivered)
        finally:
            await relay.stop()
    await engine.dispose()


async def test_mongo_outbox_relay_publishes_the_documents_messages_and_pulls_them():
    client = make_client(MONGO_URL)
    database = client[unique("shared_outbox")]
    things = database["things"]
    inbox = Inbox()
    settings = broker_settings()
    try:
        async with connected_broker(settings, Consumer("mongo-outbox-probe", ["probe.#"], inbox)) as broker:
            first = new_envelope("probe.created", "PROBE", "a", {"n": 1})
            second = new_envelope("probe.updated", "PROBE", "a", {"n": 2})
            # The change and its messages in one document write.
            await things.insert_one({"_id": "a", "n": 2, **mongo_outbox(first, second)})
            relay = MongoOutboxRelay([things], broker, interval=0.2)
            relay.start()
            try:

                async def both_delivered() -> bool:
                    return {first.message_id, second.message_id} <= set(inbox.ids())

                await eventually(both_delivered)

                async def pulled() -> dict | None:
                    doc = await things.find_one({"_id": "a"})
                    return doc if doc and doc["outbox"] == [] else None

                doc = await eventually(pulled)
            finally:
                await relay.stop()
        assert doc["n"] == 2, "the relay only touches the outbox array"
        assert MONGO_PENDING not in doc, "an emptied outbox is no longer flagged"
        # One aggregate goes to one worker, so its messages arrive in order.
        assert [e.message_id for e in inbox.received] == [first.message_id, second.message_id]
    finally:
        await client.drop_database(database.name)
        await client.close()


async def test_documents_written_before_the_pending_flag_are_flagged_and_relayed():
    client = make_client(MONGO_URL)
    database = client[unique("shared_outbox")]
    things = database["things"]
    inbox = Inbox()
    try:
        async with connected_broker(
            broker_settings(), Consumer("mongo-outbox-old", ["probe.#"], inbox)
        ) as broker:
            old = new_envelope("probe.created", "PROBE", "old", {"n": 1})
            await things.insert_many(
                [{"_id": "old", "outbox": [old.as_document()]}, {"_id": "sent", "outbox": []}]
            )
            await ensure_mongo_outbox(things)
            assert {d["_id"] async for d in things.find({MONGO_PENDING: True})} == {"old"}
            relay = MongoOutboxRelay([things], broker, interval=0.2)
            assert await relay.relay_once() == 1

            async def delivered() -> bool:
                return old.message_id in inbox.ids()

            await eventually(delivered)
            assert await things.find_one({"_id": "old"}) == {"_id": "old", "outbox": []}
    finally:
        await client.drop_database(database.name)
        await client.close()


async def test_a_message_pushed_after_the_relay_read_the_document_stays_pending():
    client = make_client(MONGO_URL)
    database = client[unique("shared_outbox")]
    things = database["things"]
    try:
        sent = new_envelope("probe.created", "PROBE", "a", {"n": 1})
        later = new_envelope("probe.updated", "PROBE", "a", {"n": 2})
        await things.insert_many(
            [
                {"_id": "alone", **mongo_outbox(sent)},
                # What the relay finds when a change pushed `later` after it read `sent`.
                {"_id": "pushed", **mongo_outbox(sent, later)},
            ]
        )
        for doc_id in ("alone", "pushed"):
            await MongoOutboxRelay._mark_sent(things, doc_id, [sent.message_id])
        assert await things.find_one({"_id": "alone"}) == {"_id": "alone", "outbox": []}
        pushed = await things.find_one({"_id": "pushed"})
        assert pushed is not None
        assert [m["messageId"] for m in pushed["outbox"]] == [later.message_id]
        assert pushed[MONGO_PENDING] is True, "the message still to send keeps the document flagged"
    finally:
        await client.drop_database(database.name)
        await client.close()
