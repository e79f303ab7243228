from decimal import Decimal

from shared.settings import ServiceSettings


class PaymentSettings(ServiceSettings, env_prefix="PAYMENT_"):
    service_name: str = "payment-service"
    port: int = 5000
    database_url: str = "postgresql+psycopg://payments:payments@127.0.0.1:5432/payments_db"
    redis_url: str = "redis://127.0.0.1:6379/0"
    cache_ttl_seconds: int = 3600  # POLY2
    # After a Redis fault the cache is left alone this long (reads go to PostgreSQL).
    cache_retry_after_seconds: float = 1.0
    # The simulated provider declines any single charge above this amount (PAYMENT_DECLINE_ABOVE).
    decline_above: Decimal = Decimal("1000000")
    # Unset: every refund succeeds. Set (PAYMENT_REFUSE_REFUNDS_ABOVE): the simulated provider
    # refuses to refund a charge above it, and the payment ends refund_failed.
    refuse_refunds_above: Decimal | None = None
