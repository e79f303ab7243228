"""Settings every service has; each service subclasses ServiceSettings with its env prefix."""

from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.faults import Fault, parse


def _common(env_name: str, default: object, **kwargs: object) -> object:
    # Fleet-wide settings are read without the service prefix (AMQP_URL, LOG_LEVEL, ...), so
    # one .env file or compose block configures every service alike.
    return Field(default, validation_alias=AliasChoices(env_name.lower(), env_name), **kwargs)  # type: ignore[call-overload]


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str = "service"
    host: str = "127.0.0.1"
    port: int = 8000

    log_level: str = _common("LOG_LEVEL", "INFO")  # type: ignore[assignment]
    json_logs: bool = _common("JSON_LOGS", True)  # type: ignore[assignment]
    cors_origins: list[str] = _common("CORS_ORIGINS", [])  # type: ignore[assignment]
    max_body_bytes: int = _common("MAX_BODY_BYTES", 1_000_000)  # type: ignore[assignment]

    amqp_url: str = _common("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")  # type: ignore[assignment]
    amqp_exchange: str = _common("AMQP_EXCHANGE", "ticketing.events")  # type: ignore[assignment]
    # Prefixes every queue this service declares; tests use it to stay apart from a running fleet.
    amqp_queue_prefix: str = _common("AMQP_QUEUE_PREFIX", "")  # type: ignore[assignment]
    consumer_max_retries: int = _common("CONSUMER_MAX_RETRIES", 3)  # type: ignore[assignment]
    consumer_retry_delay_ms: int = _common("CONSUMER_RETRY_DELAY_MS", 1000)  # type: ignore[assignment]
    # Unacknowledged deliveries per consumer: room for a batch being handled and the next one
    # forming behind it.
    consumer_prefetch: int = _common("CONSUMER_PREFETCH", 128)  # type: ignore[assignment]
    # A batching consumer (shared.messaging.broker.Consumer.batch) takes at most this many
    # messages at once, and waits this long after the first for the others of its burst.
    consumer_batch_size: int = _common("CONSUMER_BATCH_SIZE", 64)  # type: ignore[assignment]
    consumer_batch_linger_ms: float = _common("CONSUMER_BATCH_LINGER_MS", 2.0)  # type: ignore[assignment]
    outbox_poll_seconds: float = _common("OUTBOX_POLL_SECONDS", 0.5)  # type: ignore[assignment]

    http_timeout_seconds: float = _common("HTTP_TIMEOUT_SECONDS", 5.0)  # type: ignore[assignment]
    http_retries: int = _common("HTTP_RETRIES", 3)  # type: ignore[assignment]

    # Tracing (shared/tracing.py, docs/tracing.md): spans exported to Zipkin. A trace starts at
    # each request or message batch from outside with this probability: 1.0 keeps every
    # booking, what a class needs at the fleet's rates (the cost: docs/performance.md).
    tracing_enabled: bool = _common("TRACING_ENABLED", True)  # type: ignore[assignment]
    tracing_sample_ratio: float = _common("TRACING_SAMPLE_RATIO", 1.0, ge=0.0, le=1.0)  # type: ignore[assignment]
    zipkin_endpoint: str = _common("ZIPKIN_ENDPOINT", "http://127.0.0.1:9411/api/v2/spans")  # type: ignore[assignment]
    # How long the exporter's thread waits for Zipkin per batch: never a request's time.
    tracing_export_timeout_seconds: float = _common("TRACING_EXPORT_TIMEOUT_SECONDS", 2.0, gt=0)  # type: ignore[assignment]

    # Mechanisms turned off on purpose for a lab (docs/labs.md); empty in any real fleet.
    teaching_faults: Annotated[tuple[Fault, ...], NoDecode] = _common("TEACHING_FAULTS", ())  # type: ignore[assignment]

    @field_validator("teaching_faults", mode="before")
    @classmethod
    def _known_faults(cls, value: Any) -> tuple[Fault, ...]:
        return parse(value)

    # Bearer tokens of the caller classes (shared/callers.py): the fleet's own calls, and an
    # operator's repairs. Unset, the guarded endpoints refuse every call.
    service_token: SecretStr | None = _common("SERVICE_TOKEN", None)  # type: ignore[assignment]
    operator_token: SecretStr | None = _common("OPERATOR_TOKEN", None)  # type: ignore[assignment]
    # While a peer refuses our SERVICE_TOKEN, it is asked again after this long, then twice as
    # long each time up to the cap (shared/peers.py): the service resumes soon after the fix.
    token_retry_seconds: float = _common("TOKEN_RETRY_SECONDS", 1.0)  # type: ignore[assignment]
    token_retry_max_seconds: float = _common("TOKEN_RETRY_MAX_SECONDS", 15.0)  # type: ignore[assignment]


# What several services have, declared once; a service's settings class names the ones it has
# among its bases, and its env prefix as a class keyword:
#     class ReservationSettings(MongoSettings, CallsEventService, env_prefix="RESERVATION_"): ...
# (each field is then read from <PREFIX><FIELD>, as the service's own fields are).


class MongoSettings(ServiceSettings):
    """A service whose database is MongoDB: the server (one for the fleet on one machine) and
    the service's own database in it."""

    mongo_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongo_database: str


class CallsEventService(ServiceSettings):
    """A service that calls the event service (for an event's seats, price or existence)."""

    event_service_url: str = "http://127.0.0.1:8080"


TOKEN_FIX = (
    "start every service with the tokens of .data/tokens.env: `.venv/bin/fleet start` (or "
    "`.venv/bin/fleet restart` for a fleet already running); by hand, `set -a; . .data/tokens.env; "
    "set +a` first"
)


class MissingServiceToken(Exception):
    """The service makes internal calls and has no SERVICE_TOKEN: it must not start."""


def require_service_token(settings: ServiceSettings) -> None:
    token = settings.service_token
    if token is None or not token.get_secret_value():
        raise MissingServiceToken(
            f"{settings.service_name} refuses to start: SERVICE_TOKEN is not set, and every call it "
            f"makes to another service's internal endpoints would be refused (401); {TOKEN_FIX}"
        )
