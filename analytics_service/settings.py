from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class AnalyticsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", extra="ignore", populate_by_name=True)

    service_name: str = "analytics-service"
    port: int = 8081
    opensearch_url: str = "http://127.0.0.1:9200"
    index: str = "event_analytics"
    event_service_url: str = "http://127.0.0.1:8080"
