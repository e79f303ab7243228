from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ReservationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RESERVATION_", extra="ignore", populate_by_name=True)

    service_name: str = "reservation-service"
    port: int = 3000
    mongo_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongo_database: str = "reservations_db"
    event_service_url: str = "http://127.0.0.1:8080"
    # A live booking made by a saga is cancelled through the orchestrator's cancellation saga;
    # None: the service runs alone, and a cancel only changes the status.
    saga_orchestrator_url: str | None = "http://127.0.0.1:3002"
    # The seat sweep finishes what a crash or an unreachable event service left half done.
    seat_sweep_seconds: float = 5.0
    # A booking still "requested" after this long lost its request (crash): the sweep takes it.
    # Longer than a create can last (price + book, each with its timeout and retries).
    seat_request_grace_seconds: float = 60.0
