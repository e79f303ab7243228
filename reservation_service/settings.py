from shared.settings import CallsEventService, MongoSettings


class ReservationSettings(MongoSettings, CallsEventService, env_prefix="RESERVATION_"):
    service_name: str = "reservation-service"
    port: int = 3000
    mongo_database: str = "reservations_db"
    # A live booking made by a saga is cancelled through the orchestrator's cancellation saga;
    # None: the service runs alone, and a cancel only changes the status.
    saga_orchestrator_url: str | None = "http://127.0.0.1:3002"
    # The seat sweep finishes what a crash or an unreachable event service left half done.
    seat_sweep_seconds: float = 5.0
    # A booking still "requested" after this long lost its request (crash): the sweep takes it.
    # Longer than a create can last (price + book, each with its timeout and retries).
    seat_request_grace_seconds: float = 60.0
