from shared.settings import MongoSettings


class NotificationSettings(MongoSettings, env_prefix="NOTIFICATION_"):
    service_name: str = "notification-service"
    port: int = 5001
    mongo_database: str = "notifications_db"
    # The simulated sender: polls pending notifications, retries failures with backoff.
    sender_poll_seconds: float = 0.5
    send_max_attempts: int = 3
    send_retry_seconds: float = 1.0
    # Deterministic failure for demos and tests: every address at this domain bounces.
    failing_domain: str = "fail.example"
