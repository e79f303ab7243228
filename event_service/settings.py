from shared.settings import ServiceSettings


class EventSettings(ServiceSettings, env_prefix="EVENT_"):
    service_name: str = "event-service"
    port: int = 8080
    database_url: str = "postgresql+psycopg://events:events@127.0.0.1:5432/events_db"
    # DB2: attempts of an optimistic seat change before answering 409 "busy, retry", and the
    # base of the jittered backoff between them.
    booking_max_attempts: int = 10
    booking_backoff_seconds: float = 0.005
