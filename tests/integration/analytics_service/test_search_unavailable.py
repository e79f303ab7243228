"""OpenSearch answering but unable to serve (a restarting node's 503s, a blocked index's
cluster_block_exception, an overloaded node's 429) is the engine down, not a bad message:
a message arriving meanwhile waits for the engine, keeps its retries and is projected once
the engine serves again, never dead-lettered."""

import re

from opensearchpy import AsyncOpenSearch

from analytics_service.messaging import CONSUMER_NAME
from tests.integration.analytics_service.messages import event_data, event_message, reservation_message
from tests.support import OPENSEARCH_URL, eventually, unique

EVENT_ID = 45
# The flood-stage disk block: OpenSearch refuses every write to the index with a 429
# cluster_block_exception until it is lifted, as it refuses them while its shards start.
READ_ONLY = "index.blocks.read_only_allow_delete"


def _consumed(metrics_text: str, queue: str, outcome: str) -> float:
    pattern = rf'messages_consumed_total\{{outcome="{outcome}",queue="{re.escape(queue)}"\}} (\S+)'
    found = re.search(pattern, metrics_text)
    return float(found.group(1)) if found else 0.0


async def _document(app, client, event_id):
    await app.state.store.refresh()
    answer = await client.get(f"/api/analytics/events/{event_id}")
    return answer.json() if answer.status_code == 200 else None


async def test_a_message_arriving_while_the_index_refuses_writes_waits_and_is_projected(analytics, publisher):
    settings, app, client = analytics
    queue = f"{settings.amqp_queue_prefix}{CONSUMER_NAME}"
    await publisher.publish(event_message("created", event_data(EVENT_ID, 1, totalCapacity=10)))

    async def created():
        return await _document(app, client, EVENT_ID)

    await eventually(created, timeout=20)
    indices = f"{settings.index},{settings.index}_reservations"
    search = AsyncOpenSearch(hosts=[OPENSEARCH_URL])
    try:
        await search.indices.put_settings(index=indices, body={READ_ONLY: True})
        try:
            rid = unique("r")
            await publisher.publish(
                event_message("seats_booked", event_data(EVENT_ID, 2, totalCapacity=10, bookedSeats=2), 2)
            )
            await publisher.publish(
                reservation_message("confirmed", rid, EVENT_ID, version=2, seats=2, amount=30000)
            )

            async def retried_past_the_budget():
                # Well past consumer_max_retries: a message counted as bad would be dead by now.
                text = (await client.get("/metrics")).text
                return _consumed(text, queue, "retry") >= 2 * (settings.consumer_max_retries + 2)

            await eventually(retried_past_the_budget, timeout=60)
            assert _consumed((await client.get("/metrics")).text, queue, "dead") == 0
            doc = await _document(app, client, EVENT_ID)
            assert doc is not None and doc["bookedSeats"] == 0
        finally:
            await search.indices.put_settings(index=indices, body={READ_ONLY: None})
    finally:
        await search.close()

    async def projected():
        doc = await _document(app, client, EVENT_ID)
        return doc if doc and doc["bookedSeats"] == 2 and doc["confirmedReservations"] == 1 else None

    doc = await eventually(projected, timeout=30)
    assert (doc["eventVersion"], doc["availableSeats"]) == (2, 8)
    assert _consumed((await client.get("/metrics")).text, queue, "dead") == 0


async def test_a_read_the_engine_refuses_is_answered_503_problem_json(analytics):
    settings, _, client = analytics
    search = AsyncOpenSearch(hosts=[OPENSEARCH_URL])
    try:
        await search.indices.put_settings(index=settings.index, body={"index.blocks.read": True})
        try:
            answer = await client.get("/api/analytics/search", params={"location": "Dakar"})
        finally:
            await search.indices.put_settings(index=settings.index, body={"index.blocks.read": None})
    finally:
        await search.close()
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["status"] == 503
    assert (await client.get("/api/analytics/search", params={"location": "Dakar"})).status_code == 200
