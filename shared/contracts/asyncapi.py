"""The AsyncAPI 3.0 document of the fleet's messages, generated from the models: one channel
per routing key on the topic exchange, the operation that sends it, and the JSON Schema of
its envelope (the `data` being the key's model). Deterministic: the same models always give
the same bytes, so a test compares the checked-in docs/asyncapi.json with a fresh one."""

import json
from typing import Any, Literal

from pydantic import Field, create_model
from pydantic.json_schema import models_json_schema

from shared.contracts.envelope import ACCEPTED_VERSIONS, SCHEMA_VERSION, Envelope
from shared.contracts.messages import MESSAGES, Message, RoutingKey
from shared.settings import ServiceSettings

REF = "#/components/schemas/{model}"
# Which service publishes the messages of each aggregate (routing keys start with it).
PRODUCERS = {
    "event": "event_service",
    "reservation": "reservation_service",
    "payment": "payment_service",
    "booking": "saga_orchestrator",
}


def _name(key: RoutingKey) -> str:
    """`event.seats_booked` -> `eventSeatsBooked`, the id of its channel and message."""
    words = key.value.replace(".", "_").split("_")
    return words[0] + "".join(w.capitalize() for w in words[1:])


def envelope_model(model: type[Message]) -> type[Envelope]:
    """The envelope as it travels with `model` in its data: the wire shape of one key."""
    fields: dict[str, Any] = {
        "schema_version": (Literal[SCHEMA_VERSION], Field(default=SCHEMA_VERSION)),
        "type": (Literal[model.routing_key.value], Field(description="the routing key")),
        "aggregate_type": (Literal[model.aggregate_type], ...),
        "data": (model, ...),
    }
    return create_model(  # type: ignore[no-any-return]
        f"{model.__name__}Envelope",
        __base__=Envelope,
        __doc__=f"A `{model.routing_key}` message: the envelope, its data a {model.__name__}.",
        **fields,
    )


def document() -> dict[str, Any]:
    envelopes = {key: envelope_model(model) for key, model in MESSAGES.items()}
    _, schemas = models_json_schema(
        [(envelopes[key], "serialization") for key in RoutingKey], ref_template=REF
    )
    exchange = {
        # The default, not the environment's: the document is the same wherever it is built.
        "name": ServiceSettings.model_fields["amqp_exchange"].default,
        "type": "topic",
        "durable": True,
        "autoDelete": False,
        "vhost": "/",
    }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for key in RoutingKey:
        name = _name(key)
        model = MESSAGES[key]
        messages[name] = {
            "name": key.value,
            "title": model.__name__,
            "summary": (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else key.value,
            "contentType": "application/json",
            "payload": {"$ref": REF.format(model=envelopes[key].__name__)},
        }
        channels[name] = {
            "address": key.value,
            "title": key.value,
            "description": f"Routing key `{key.value}` on the `{exchange['name']}` topic exchange.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": {"amqp": {"is": "routingKey", "exchange": exchange, "bindingVersion": "0.3.0"}},
        }
        operations[f"send_{name}"] = {
            "action": "send",
            "title": f"{PRODUCERS[key.aggregate]} publishes {key.value}",
            "description": "Written to the producer's outbox with its change, then published "
            "by the outbox relay (at least once: consumers dedupe by messageId).",
            "channel": {"$ref": f"#/channels/{name}"},
            "messages": [{"$ref": f"#/channels/{name}/messages/{name}"}],
            # Persistent messages, published with confirms.
            "bindings": {"amqp": {"deliveryMode": 2, "bindingVersion": "0.3.0"}},
        }
    versions = ", ".join(map(str, sorted(ACCEPTED_VERSIONS)))
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Ticketing fleet domain messages",
            "version": str(SCHEMA_VERSION),
            "description": (
                "Every message the fleet publishes on its RabbitMQ topic exchange, generated from "
                "shared/contracts by `python -m shared.contracts asyncapi`. The envelope's "
                f"schemaVersion is {SCHEMA_VERSION}; consumers read versions {versions} and send "
                "any message they cannot parse to their queue's `.dlq`, the reason in the "
                '`x-unreadable-reason` header. Money is {"amount": "<decimal>", "currency": '
                '"<ISO 4217>"}, the amount within the currency\'s minor unit.'
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "rabbitmq": {
                "host": "localhost:5672",
                "protocol": "amqp",
                "protocolVersion": "0-9-1",
                "description": "The broker of the dev fleet (AMQP_URL in a deployment).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas["$defs"]},
    }


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"
