"""Pure parts of shared/: request fingerprints, the message envelope on the wire, and the
settings a container sets through the environment (docker-compose.yml relies on them)."""

from datetime import UTC, datetime

from event_service.settings import EventSettings
from event_store_service.settings import EventStoreSettings
from shared.contracts import SCHEMA_VERSION, Envelope, new_envelope
from shared.idempotency import fingerprint


def test_a_fingerprint_ignores_key_order_but_not_values():
    assert fingerprint({"seats": 2, "holder": "Awa"}) == fingerprint({"holder": "Awa", "seats": 2})
    assert fingerprint({"seats": 2}) != fingerprint({"seats": 3})
    assert fingerprint({"a": {"x": 1, "y": 2}}) == fingerprint({"a": {"y": 2, "x": 1}})


def test_an_envelope_travels_in_camel_case_and_comes_back_equal():
    at = datetime(2025, 12, 25, 20, 0, tzinfo=UTC)
    envelope = new_envelope("event.seats_booked", "EVENT", 42, {"seats": 2}, occurred_at=at)
    doc = envelope.as_document()
    assert set(doc) == {
        "schemaVersion",
        "messageId",
        "type",
        "aggregateType",
        "aggregateId",
        "occurredAt",
        "correlationId",
        "causationId",
        "data",
    }
    assert doc["aggregateId"] == "42" and doc["occurredAt"].startswith("2025-12-25T20:00:00")
    assert Envelope.from_bytes(envelope.to_bytes()) == envelope
    assert doc["schemaVersion"] == SCHEMA_VERSION


def test_a_container_sets_host_urls_and_fleet_settings_through_the_environment(monkeypatch):
    monkeypatch.setenv("EVENT_HOST", "0.0.0.0")
    monkeypatch.setenv("EVENT_DATABASE_URL", "postgresql+psycopg://e:p@postgres-events:5432/events_db")
    monkeypatch.setenv("AMQP_URL", "amqp://guest:guest@rabbitmq:5672/")
    monkeypatch.setenv("EVENT_STORE_HOST", "0.0.0.0")
    settings = EventSettings()
    assert settings.host == "0.0.0.0"
    assert settings.database_url.endswith("@postgres-events:5432/events_db")
    assert settings.amqp_url == "amqp://guest:guest@rabbitmq:5672/"
    assert settings.port == 8080
    # EVENT_STORE_* shares the EVENT_ prefix but names no field of the event service.
    assert EventStoreSettings().host == "0.0.0.0"
    monkeypatch.delenv("EVENT_HOST")
    assert EventSettings().host == "127.0.0.1", "native runs listen on loopback only"
