"""RabbitMQ messaging: envelope, broker connection, consumers with retry and dead letters,
transactional outbox relays and inboxes."""

from shared.messaging.envelope import Envelope, new_envelope

__all__ = ["Envelope", "new_envelope"]
