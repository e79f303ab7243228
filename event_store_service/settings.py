from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class EventStoreSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EVENT_STORE_", extra="ignore", populate_by_name=True)

    service_name: str = "event-store-service"
    port: int = 3001
    mongo_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongo_database: str = "event_store_db"
