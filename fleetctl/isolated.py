"""Isolated fleets: the seven services on free ports, with databases, a Redis db, queues, an
exchange and an index of their own on the shared engines, removed again by `discard`.

Used by `fleet nemesis` (unless `--here`) and `fleet lab`, so a run never touches a dev
fleet's data. Names start `e2e_<10 hex>` like the test fleets' (tests/support.py), so the
tests' leftover sweep also removes what a killed run left behind.
"""

import random
import socket
import uuid
from collections.abc import Iterable
from urllib.parse import quote

import httpx
import psycopg
import pymongo
import redis
from sqlalchemy.engine import make_url

from fleetctl.fleet import EVERYTHING, ROOT, Fleet, ServiceExited

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres password=postgres dbname=postgres"
MONGO_URL = "mongodb://127.0.0.1:27017/?directConnection=true"
RABBITMQ_API = "http://127.0.0.1:15672/api"


def unique(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def create_pg_database(role: str, prefix: str = "test") -> str:
    """A new empty database owned by `role` (whose password is its name); its SQLAlchemy URL."""
    name = unique(prefix)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" OWNER {role}')
    return f"postgresql+psycopg://{role}:{role}@127.0.0.1:5432/{name}"


def free_port_offset() -> int:
    """An offset that puts the seven services' and the console's ports on free ports (parallel
    runs differ)."""
    for _ in range(200):
        # Every port stays below 32768, where Linux hands out ephemeral ports to outgoing
        # connections: one of those could take a service's port between this check and its bind.
        offset = random.randrange(10, 24) * 1000 + random.randrange(0, 600)
        if all(_port_free(s.port + offset) for s in EVERYTHING):
            return offset
    raise RuntimeError("no free port range for an isolated fleet")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def fresh_redis_db() -> int:
    """A Redis database number in 11..15 (0 is the dev fleet's, 1..10 the unit tests'), emptied."""
    number = random.randrange(11, 16)
    redis.Redis(host="127.0.0.1", port=6379, db=number).flushdb()
    return number


def isolated_fleet(port_offset: int | None = None) -> "IsolatedFleet":
    """A second fleet on other ports, with its own databases, index and exchange."""
    if port_offset is None:
        port_offset = free_port_offset()
    tag = unique("e2e")
    env = {
        "AMQP_EXCHANGE": f"{tag}.events",
        "AMQP_QUEUE_PREFIX": f"{tag}.",
        "EVENT_DATABASE_URL": create_pg_database("events", "e2e_events"),
        "PAYMENT_DATABASE_URL": create_pg_database("payments", "e2e_payments"),
        "SAGA_DATABASE_URL": create_pg_database("sagas", "e2e_sagas"),
        "RESERVATION_MONGO_DATABASE": f"{tag}_reservations",
        "NOTIFICATION_MONGO_DATABASE": f"{tag}_notifications",
        "EVENT_STORE_MONGO_DATABASE": f"{tag}_event_store",
        "ANALYTICS_INDEX": f"{tag}_event_analytics",
        # Payment ids restart at 1 in every throwaway database, and the cache key is
        # payment:{id}: each isolated fleet gets a Redis db of its own, emptied first.
        "PAYMENT_REDIS_URL": f"redis://127.0.0.1:6379/{fresh_redis_db()}",
        "JSON_LOGS": "true",
        # Caller-class tokens of its own: its services call each other's internal endpoints
        # with the first; the tools' operator calls carry the second.
        "SERVICE_TOKEN": f"fleet-service-{uuid.uuid4().hex}",
        "OPERATOR_TOKEN": f"fleet-operator-{uuid.uuid4().hex}",
    }
    run_dir = ROOT / ".data" / "test-fleets" / tag
    return IsolatedFleet(run_dir=run_dir, log_dir=run_dir, port_offset=port_offset, env=env)


class IsolatedFleet(Fleet):
    """A fleet that moves to other free ports when one of its ports was taken between
    the check and the bind (another test run on this machine)."""

    def start(
        self,
        names: Iterable[str] | None = None,
        *,
        wait: float = 90.0,
        quiet: bool = False,
        instances: int = 1,
    ) -> None:
        for attempt in range(3):
            try:
                super().start(names, wait=wait, quiet=quiet, instances=instances)
                return
            except ServiceExited:
                if attempt == 2 or names:
                    raise
                self.stop()
                self.port_offset = free_port_offset()

    def discard(self) -> None:
        """Stop the fleet and remove what it made on the shared engines: its PostgreSQL
        databases, queues and exchange, MongoDB databases and search indices (a dev machine
        that runs the tests would otherwise collect them: 120 stale indices slowed its search
        node). Past the databases, best effort: the run's verdict does not depend on it."""
        self.stop()
        env = self.env
        names = [
            str(make_url(env[k]).database)
            for k in ("EVENT_DATABASE_URL", "PAYMENT_DATABASE_URL", "SAGA_DATABASE_URL")
        ]
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        prefix = env["AMQP_QUEUE_PREFIX"]
        try:
            with httpx.Client(base_url=RABBITMQ_API, auth=("guest", "guest"), timeout=10) as api:
                for queue in api.get("/queues/%2F", params={"columns": "name"}).json():
                    if queue["name"].startswith(prefix):
                        api.delete(f"/queues/%2F/{quote(queue['name'], safe='')}")
                api.delete(f"/exchanges/%2F/{quote(env['AMQP_EXCHANGE'], safe='')}")
            mongo: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
                MONGO_URL, serverSelectionTimeoutMS=3000
            )
            with mongo:
                for key in ("RESERVATION", "NOTIFICATION", "EVENT_STORE"):
                    mongo.drop_database(env[f"{key}_MONGO_DATABASE"])
            httpx.delete(f"http://127.0.0.1:9200/{env['ANALYTICS_INDEX']}*", timeout=10)
        except Exception as exc:
            print(f"could not remove every trace of test fleet {prefix}: {exc}")
