"""RabbitMQ messaging: broker connection, consumers with retry and dead letters, transactional
outbox relays. Consumers apply a message once by their own unique indexes and version guards
(see each service's messaging module), not by a shared inbox. The envelope and the messages
are in shared.contracts."""
