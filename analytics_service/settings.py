from shared.settings import CallsEventService


class AnalyticsSettings(CallsEventService, env_prefix="ANALYTICS_"):
    service_name: str = "analytics-service"
    port: int = 8081
    opensearch_url: str = "http://127.0.0.1:9200"
    index: str = "event_analytics"
