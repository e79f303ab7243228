"""RabbitMQ messaging: envelope, broker connection, consumers with retry and dead letters,
transactional outbox relays. Consumers apply a message once by their own unique indexes and
version guards (see each service's messaging module), not by a shared inbox."""

from shared.messaging.envelope import Envelope, new_envelope

__all__ = ["Envelope", "new_envelope"]
