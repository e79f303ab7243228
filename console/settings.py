from shared.settings import CallsEventService


class ConsoleSettings(CallsEventService, env_prefix="CONSOLE_"):
    """Where the console reads from; AMQP_EXCHANGE and AMQP_QUEUE_PREFIX (fleet-wide) name the
    exchange and queues it shows, as the services declare them."""

    service_name: str = "console"
    # Loopback by default: the page can start bookings, so it is not offered to the network.
    host: str = "127.0.0.1"
    port: int = 8090
    analytics_service_url: str = "http://127.0.0.1:8081"
    event_store_url: str = "http://127.0.0.1:3001"
    saga_url: str = "http://127.0.0.1:3002"
    rabbitmq_api_url: str = "http://127.0.0.1:15672/api"
    rabbitmq_user: str = "guest"
    rabbitmq_password: str = "guest"
    rabbitmq_vhost: str = "/"
    # Each source is read this often while at least one page is open, never when none is.
    poll_seconds: float = 1.0
    # A source slower than this is shown as unreachable for this round.
    source_timeout_seconds: float = 3.0
    sagas_per_page: int = 20
    events_per_page: int = 10
    recent_messages: int = 30
    # Zipkin's UI (docs/tracing.md): each saga links to its trace there, /traces/<traceId>.
    zipkin_ui_url: str = "http://127.0.0.1:9411/zipkin"
