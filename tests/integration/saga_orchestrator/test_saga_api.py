"""The saga API's edges: bad input is a 422 naming the field and starts nothing; unknown and
malformed saga ids are 404; a long poll (`?wait=`) answers when the saga ends or the wait runs
out; the list filters by status and age and pages."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import aio_pika
import pytest

from saga_orchestrator.app import create_app
from tests.integration.saga_orchestrator.fakes import serve_fakes
from tests.integration.saga_orchestrator.helpers import booking, saga_settings, start, wait_for
from tests.support import running

BAD_INPUT = [
    ({"seats": "2"}, "seats"),
    ({"seats": 2.5}, "seats"),
    ({"seats": True}, "seats"),
    ({"seats": 0}, "seats"),
    ({"eventId": 0}, "eventId"),
    ({"eventId": "1"}, "eventId"),
    ({"userEmail": "not-an-email"}, "userEmail"),
    ({"paymentMethod": "cash"}, "paymentMethod"),
    ({"ticketPrice": -1}, "ticketPrice"),
    ({"ticketPrice": "abc"}, "ticketPrice"),
    ({"preferences": "front"}, "preferences"),
    ({"userName": ""}, "userName"),
    ({"status": "COMPLETED"}, "status"),
]


@pytest.fixture(scope="module")
async def app_client():
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=5000, capacity=100)
        async with running(create_app(saga_settings(fakes.url))) as client:
            yield client, fakes


@pytest.mark.parametrize(("change", "field"), BAD_INPUT)
async def test_bad_input_is_a_422_naming_the_field_and_starts_nothing(app_client, change, field):
    client, fakes = app_client
    before = len(fakes.calls)
    answer = await client.post("/api/saga/booking", json=booking(1, **change))
    assert answer.status_code == 422, answer.text
    assert field in [e["field"] for e in answer.json()["errors"]]
    assert len(fakes.calls) == before


async def test_a_missing_field_is_a_422(app_client):
    client, _ = app_client
    body = booking(1)
    del body["userId"]
    answer = await client.post("/api/saga/booking", json=body)
    assert answer.status_code == 422
    assert "userId" in answer.json()["detail"]


async def test_snake_case_input_is_accepted(app_client):
    client, _ = app_client
    body = {"event_id": 1, "user_id": "u", "user_name": "N", "user_email": "n@example.com"}
    body |= {"seats": 1, "ticket_price": 5000, "payment_method": "card"}
    saga = await wait_for(client, await start(client, body))
    assert saga["status"] == "COMPLETED"


async def test_unknown_and_malformed_saga_ids_are_404(app_client):
    client, _ = app_client
    assert (await client.get(f"/api/saga/{uuid.uuid4()}")).status_code == 404
    assert (await client.get("/api/saga/not-a-uuid")).status_code == 404


async def test_a_long_poll_answers_as_soon_as_the_saga_ends():
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=5000, capacity=100)
        fakes.modes["pay"] = "hang"
        async with running(create_app(saga_settings(fakes.url))) as client:
            saga_id = await start(client, booking(1))
            waiting = asyncio.create_task(client.get(f"/api/saga/{saga_id}", params={"wait": 10}))
            await asyncio.sleep(0.3)
            assert not waiting.done()  # the payment hangs: the GET waits
            fakes.unhang.set()
            answer = await asyncio.wait_for(waiting, 5)
            assert answer.status_code == 200 and answer.json()["status"] == "COMPLETED"


async def test_a_long_poll_that_runs_out_answers_the_saga_as_it_is():
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=5000, capacity=100)
        fakes.modes["pay"] = "hang"
        async with running(create_app(saga_settings(fakes.url))) as client:
            saga_id = await start(client, booking(1))
            answer = await client.get(f"/api/saga/{saga_id}", params={"wait": 0.3})
            assert answer.status_code == 200
            assert (answer.json()["status"], answer.json()["currentStep"]) == ("RUNNING", "PROCESS_PAYMENT")
            fakes.unhang.set()
            assert (await wait_for(client, saga_id))["status"] == "COMPLETED"


@pytest.mark.parametrize("wait", ["-1", "31", "soon"])
async def test_a_wait_out_of_range_is_a_422_naming_it(app_client, wait):
    client, _ = app_client
    answer = await client.get(f"/api/saga/{uuid.uuid4()}", params={"wait": wait})
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["query.wait"]


async def test_a_long_poll_on_an_unknown_saga_is_a_404_at_once(app_client):
    client, _ = app_client
    answer = await asyncio.wait_for(client.get(f"/api/saga/{uuid.uuid4()}", params={"wait": 10}), 2)
    assert answer.status_code == 404


async def test_the_list_filters_by_status_and_age_and_pages(app_client):
    client, _ = app_client
    ids = [await start(client, booking(1, seats=1)) for _ in range(3)]
    for saga_id in ids:
        await wait_for(client, saga_id)
    page = (await client.get("/api/saga", params={"status": "COMPLETED", "size": 2})).json()
    assert page["size"] == 2 and len(page["items"]) == 2 and page["total"] >= 3
    assert {"sagaId", "status", "currentStep", "amount", "error", "createdAt"} <= set(page["items"][0])
    second = (await client.get("/api/saga", params={"status": "COMPLETED", "size": 2, "page": 2})).json()
    assert not {s["sagaId"] for s in page["items"]} & {s["sagaId"] for s in second["items"]}
    assert (await client.get("/api/saga", params={"olderThan": "3600"})).json()["total"] == 0
    future = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert (await client.get("/api/saga", params={"olderThan": future})).json()["total"] >= 3
    assert (await client.get("/api/saga", params={"status": "COMPENSATED"})).json()["total"] == 0
    assert (await client.get("/api/saga", params={"status": "BOGUS"})).status_code == 422
    assert (await client.get("/api/saga", params={"olderThan": "yesterday"})).status_code == 422
    assert (await client.get("/api/saga", params={"size": 1000})).status_code == 422


async def test_the_ending_of_a_saga_is_published_to_the_exchange():
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=5000, capacity=10)
        settings = saga_settings(fakes.url)
        connection = await aio_pika.connect_robust(settings.amqp_url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(
                settings.amqp_exchange, aio_pika.ExchangeType.TOPIC, durable=True
            )
            queue = await channel.declare_queue(exclusive=True, auto_delete=True)
            await queue.bind(exchange, "booking.*")
            async with running(create_app(settings)) as client:
                confirmed = await start(client, booking(1, seats=1))
                refused = await start(client, booking(1, seats=50))
                received = {}
                async with asyncio.timeout(20), queue.iterator() as messages:
                    async for message in messages:
                        await message.ack()
                        body = json.loads(message.body)
                        received[body["aggregateId"]] = body["type"]
                        if len(received) == 2:
                            break
            await exchange.delete()
        assert received == {confirmed: "booking.confirmed", refused: "booking.compensated"}
