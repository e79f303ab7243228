"""The fleet's consumer queues exist as soon as any service's broker has connected: a message
published before its consumer ever connected waits in its queue instead of being dropped by
RabbitMQ (which confirms an unroutable message all the same); and should a message still find
no queue, its publish fails, so the outbox keeps it."""

import pytest

from shared.contracts import new_envelope
from shared.messaging.broker import Broker, BrokerUnavailable, Consumer
from shared.messaging.topology import NOTIFICATION_DISPATCH
from tests.integration.shared.helpers import Inbox, broker_settings, connected_broker, delete_topology
from tests.support import eventually


async def test_a_message_published_before_its_consumer_ever_connected_is_delivered_once_it_does():
    settings = broker_settings()
    message = new_envelope("booking.confirmed", "BOOKING", 41, {"n": 41})

    # A producer alone on a fresh prefix: no consumer has ever declared a queue there.
    async with connected_broker(settings) as producer:
        await producer.publish(message)

        inbox = Inbox()
        dispatch = NOTIFICATION_DISPATCH
        consumer = Consumer(dispatch.name, list(dispatch.bindings), inbox, workers=1)
        async with connected_broker(settings, consumer):

            async def received() -> bool:
                return inbox.ids() == [message.message_id]

            await eventually(received)


async def test_a_message_no_queue_takes_is_a_failed_publish_the_outbox_keeps():
    # A broker declaring no topology on a fresh exchange: nothing is bound to it.
    settings = broker_settings()
    broker = Broker(settings, topology=())
    await broker.start()
    try:
        await broker.wait_connected(timeout=20)
        with pytest.raises(BrokerUnavailable):
            await broker.publish(new_envelope("booking.confirmed", "BOOKING", 42, {"n": 42}))
    finally:
        await broker.close()
        await delete_topology(settings, [])
