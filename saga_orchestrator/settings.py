from typing import Annotated

from pydantic import Field

from shared.settings import CallsEventService


class SagaSettings(CallsEventService, env_prefix="SAGA_"):
    service_name: str = "saga-orchestrator"
    port: int = 3002
    database_url: str = "postgresql+psycopg://sagas:sagas@127.0.0.1:5432/sagas_db"
    reservation_service_url: str = "http://127.0.0.1:3000"
    payment_service_url: str = "http://127.0.0.1:5000"
    currency: str = "XOF"
    # first wait between retries of one participant call (doubles, with jitter)
    http_backoff_seconds: float = 0.2
    # a saga is held by one orchestrator for this long, renewed while it drives it; a crashed
    # orchestrator's sagas are taken over once their lease has run out
    lease_seconds: float = 30.0
    recovery_interval_seconds: float = 1.0
    max_concurrent_sagas: int = 64
    # a compensation still failing after this many passes (each with its own retries) ends
    # the saga COMPENSATION_FAILED (10 passes, waiting 1 s, 2 s, ... between them: about a
    # minute of outage is ridden out before a human is asked to look)
    compensation_attempts: int = 10
    compensation_retry_seconds: float = 1.0
    # Slow motion for teaching: a pause before each step and each compensation call, so a saga
    # takes seconds and can be watched (and a participant stopped) mid-way. Never changes an
    # outcome; 0 in production.
    step_delay_ms: Annotated[int, Field(ge=0, le=60_000)] = 0
