"""What a test fleet has stored, as one digest per table, collection or index, read from the
engines themselves: a request refused as bad input must leave its service's digests as they
were. Outbox and inbox records are left out (a relay flags them on its own schedule); the
payment cache is a cache, not a store."""

import hashlib
import time

import bson
import httpx
import psycopg
import pymongo
from sqlalchemy.engine import make_url

from fleetctl.fleet import Fleet
from tests.support import MONGO_URL, OPENSEARCH_URL, PG_ADMIN, patiently

SKIPPED = ("outbox", "inbox", "alembic_version")

# The stores each service owns, by the fleet setting that names them.
OWNED = {
    "event_service": ("pg", "EVENT_DATABASE_URL"),
    "payment_service": ("pg", "PAYMENT_DATABASE_URL"),
    "saga_orchestrator": ("pg", "SAGA_DATABASE_URL"),
    "reservation_service": ("mongo", "RESERVATION_MONGO_DATABASE"),
    "notification_service": ("mongo", "NOTIFICATION_MONGO_DATABASE"),
    "event_store_service": ("mongo", "EVENT_STORE_MONGO_DATABASE"),
    "analytics_service": ("index", "ANALYTICS_INDEX"),
}


def _skipped(name: str) -> bool:
    return any(part in name for part in SKIPPED)


def _pg(database: str) -> dict[str, str]:
    dsn = PG_ADMIN.replace("dbname=postgres", f"dbname={database}")
    digests = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        for schema, table in tables:
            if _skipped(table):
                continue
            digest = "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            query = f'SELECT count(*), {digest} FROM "{schema}"."{table}" t'
            row = conn.execute(query).fetchone()  # type: ignore[call-overload]
            assert row is not None
            digests[f"{database}.{table}"] = f"{row[0]}:{row[1]}"
    return digests


def _mongo(client: pymongo.MongoClient, database: str) -> dict[str, str]:  # type: ignore[type-arg]
    digests = {}
    for name in client[database].list_collection_names():
        if _skipped(name):
            continue
        digest = hashlib.sha256()
        count = 0
        for doc in client[database][name].find().sort("_id", 1):
            digest.update(bson.encode(doc))
            count += 1
        digests[f"{database}.{name}"] = f"{count}:{digest.hexdigest()}"
    return digests


def _index(index: str) -> dict[str, str]:
    httpx.post(f"{OPENSEARCH_URL}/{index}/_refresh", timeout=30)
    answer = httpx.post(
        f"{OPENSEARCH_URL}/{index}/_search", json={"size": 10_000, "query": {"match_all": {}}}, timeout=30
    )
    if answer.status_code == 404:
        return {index: "absent"}
    hits = sorted(answer.json()["hits"]["hits"], key=lambda h: h["_id"])
    digest = hashlib.sha256(repr([(h["_id"], h["_source"]) for h in hits]).encode())
    return {index: f"{len(hits)}:{digest.hexdigest()}"}


def digests(fleet: Fleet, services: tuple[str, ...] = tuple(OWNED)) -> dict[str, str]:
    # The engines are shared: read again while one is being restarted by a chaos test.
    return patiently(lambda: _digests(fleet, services))


def _digests(fleet: Fleet, services: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    client: pymongo.MongoClient = pymongo.MongoClient(MONGO_URL, serverSelectionTimeoutMS=5000)  # type: ignore[type-arg]
    with client:
        for service in services:
            engine, setting = OWNED[service]
            name = fleet.env[setting]
            if engine == "pg":
                found.update(_pg(str(make_url(name).database)))
            elif engine == "mongo":
                found.update(_mongo(client, name))
            else:
                found.update(_index(name))
    return found


def settled(fleet: Fleet, quiet_seconds: float = 0.6, timeout: float = 20.0) -> dict[str, str]:
    """The fleet's digests once they stopped moving (messages and sagas in flight done)."""
    deadline = time.monotonic() + timeout
    last = digests(fleet)
    while True:
        time.sleep(quiet_seconds)
        now = digests(fleet)
        if now == last or time.monotonic() > deadline:
            return now
        last = now
