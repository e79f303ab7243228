from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class SagaSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SAGA_", extra="ignore", populate_by_name=True)

    service_name: str = "saga-orchestrator"
    port: int = 3002
    database_url: str = "postgresql+psycopg://sagas:sagas@127.0.0.1:5432/sagas_db"
    event_service_url: str = "http://127.0.0.1:8080"
    reservation_service_url: str = "http://127.0.0.1:3000"
    payment_service_url: str = "http://127.0.0.1:5000"
