"""payment.completed|failed|refunded reach RabbitMQ through the outbox."""

import asyncio
import json
from typing import Any

import aio_pika
import httpx
from fastapi import FastAPI

from tests.integration.payment_service.helpers import charge
from tests.support import AMQP_URL

DEADLINE_SECONDS = 20


async def test_payment_messages_are_published_with_the_full_payment(client: httpx.AsyncClient, app: FastAPI):
    connection = await aio_pika.connect_robust(AMQP_URL)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            app.state.settings.amqp_exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="payment.#")

        completed = (await client.post("/api/payments", json=charge())).json()
        declined = (await client.post("/api/payments", json=charge(amount=1_000_001))).json()
        refunded = (await client.post(f"/api/payments/{completed['id']}/compensate")).json()

        wanted = {
            ("payment.completed", completed["id"]): completed,
            ("payment.failed", declined["id"]): declined,
            ("payment.refunded", completed["id"]): refunded,
        }
        received: dict[tuple[str, int], dict[str, Any]] = {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE_SECONDS
        while set(wanted) - set(received) and loop.time() < deadline:
            message = await queue.get(fail=False)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            await message.ack()
            envelope = json.loads(message.body)
            received[(envelope["type"], int(envelope["aggregateId"]))] = envelope
        assert set(received) >= set(wanted)
        for key, payment in wanted.items():
            envelope = received[key]
            assert envelope["aggregateType"] == "PAYMENT"
            # The full payment; its money one Money object (amount and currency together).
            money = {"amount": payment["amount"], "currency": payment["currency"]}
            rest = {k: v for k, v in payment.items() if k != "currency"}
            assert envelope["data"] == {**rest, "amount": money}
    finally:
        await connection.close()
