from pydantic import Field

from shared.settings import MongoSettings


class EventStoreSettings(MongoSettings, env_prefix="EVENT_STORE_"):
    service_name: str = "event-store-service"
    port: int = 3001
    mongo_database: str = "event_store_db"
    # A snapshot every N events per aggregate (0 disables them): reconstruct starts from the
    # newest snapshot at or below the asked version instead of replaying from version 1.
    snapshot_every: int = Field(default=100, ge=0)
    # Appends without expectedVersion retry this many times when a racing append took the
    # version they aimed at.
    append_attempts: int = Field(default=100, ge=1)
