from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATION_", extra="ignore", populate_by_name=True)

    service_name: str = "notification-service"
    port: int = 5001
    mongo_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongo_database: str = "notifications_db"
    # The simulated sender: polls pending notifications, retries failures with backoff.
    sender_poll_seconds: float = 0.5
    send_max_attempts: int = 3
    send_retry_seconds: float = 1.0
    # Deterministic failure for demos and tests: every address at this domain bounces.
    failing_domain: str = "fail.example"
