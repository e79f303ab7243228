"""The fleet console: a read-only web page that shows sagas, seats, messages and the event
store live, from the services' public APIs and the RabbitMQ management API."""
