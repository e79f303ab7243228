from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class EventSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EVENT_", extra="ignore", populate_by_name=True)

    service_name: str = "event-service"
    port: int = 8080
    database_url: str = "postgresql+psycopg://events:events@127.0.0.1:5432/events_db"
