from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ReservationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RESERVATION_", extra="ignore", populate_by_name=True)

    service_name: str = "reservation-service"
    port: int = 3000
    mongo_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongo_database: str = "reservations_db"
    event_service_url: str = "http://127.0.0.1:8080"
