from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATION_", extra="ignore", populate_by_name=True)

    service_name: str = "notification-service"
    port: int = 5001
    mongo_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongo_database: str = "notifications_db"
