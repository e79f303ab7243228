"""Isolated fleets: the seven services on free ports, with databases, a Redis db, queues, an
exchange and an index of their own on the shared engines, removed again by `discard`.

Used by `fleet nemesis` (unless `--here`), `fleet lab` and the tests (tests/support.py, which
passes hooks that record the names it hands out, so its session clean-up knows them), so a run
never touches a dev fleet's data. Names start `e2e_<10 hex>`, so the tests' leftover sweep
also removes what a killed run left behind.
"""

import fcntl
import random
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar
from urllib.parse import quote

import httpx
import psycopg
import pymongo
import redis
from sqlalchemy.engine import make_url

from fleetctl.fleet import EVERYTHING, ROOT, Fleet, ServiceExited

if TYPE_CHECKING:
    from fleetctl.toxiproxy import NetworkLinks

T = TypeVar("T")
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres password=postgres dbname=postgres"
MONGO_URL = "mongodb://127.0.0.1:27017/?directConnection=true"
OPENSEARCH_URL = "http://127.0.0.1:9200"
RABBITMQ_API = "http://127.0.0.1:15672/api"


def unique(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def create_pg_database(role: str, prefix: str = "test", name: Callable[[str], str] = unique) -> str:
    """A new empty database owned by `role` (whose password is its name), named by
    `name(prefix)`; its SQLAlchemy URL."""
    database = name(prefix)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}" OWNER {role}')
    return f"postgresql+psycopg://{role}:{role}@127.0.0.1:5432/{database}"


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


# Redis has 16 numbered databases; 0 is the dev fleet's. A test app or an isolated fleet takes
# one of the others for itself, held by an exclusive lock on a file in the machine's temporary
# directory: parallel test workers and other test runs on this machine never share, nor flush,
# each other's. The lock goes with its holder, even a killed one.
REDIS_DBS = range(1, 16)
_REDIS_LOCKS = Path(tempfile.gettempdir()) / "tp4-redis-dbs"
_held_redis_dbs: dict[int, IO[str]] = {}


def claim_redis_db(wait: float = 300.0) -> int:
    """A Redis database number no other holder has (1..15), emptied; held until
    release_redis_db(number) or the end of this process. Waits while all fifteen are taken."""
    _REDIS_LOCKS.mkdir(exist_ok=True)
    deadline = time.monotonic() + wait
    while True:
        for number in random.sample(REDIS_DBS, len(REDIS_DBS)):
            if number in _held_redis_dbs:
                continue
            handle = open(_REDIS_LOCKS / f"6379-{number}.lock", "w")  # held open: it is the lock
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            _held_redis_dbs[number] = handle
            redis.Redis(host="127.0.0.1", port=6379, db=number).flushdb()
            return number
        if time.monotonic() > deadline:
            raise RuntimeError(f"every Redis database of {list(REDIS_DBS)} stayed taken for {wait:.0f} s")
        time.sleep(0.5)


def release_redis_db(number: int) -> None:
    """Give back a number claim_redis_db handed out (an unknown one is fine)."""
    handle = _held_redis_dbs.pop(number, None)
    if handle is not None:
        handle.close()


ENGINE_KINDS = ("exchanges", "queues", "mongo", "indices", "postgres")


def patiently(action: Callable[[], T], seconds: float = 90.0) -> T:
    """The action's result, retried while an engine is away: the engines are shared, and a
    chaos test or a nemesis run (this one's or another's) may be restarting one."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return action()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def engine_inventory(patience: float = 0.0) -> dict[str, set[str]]:
    """The names on the shared engines: RabbitMQ exchanges and queues (vhost /), MongoDB
    databases, OpenSearch indices, PostgreSQL databases. An engine that does not answer is
    left out (a unit-test run needs none of them), after `patience` seconds of retries."""
    found: dict[str, set[str]] = {}

    def rabbitmq() -> None:
        with httpx.Client(base_url=RABBITMQ_API, auth=("guest", "guest"), timeout=30) as api:
            for kind in ("exchanges", "queues"):
                answer = api.get(f"/{kind}/%2F", params={"columns": "name"})
                answer.raise_for_status()
                found[kind] = {item["name"] for item in answer.json()}

    def mongo() -> None:
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            MONGO_URL, serverSelectionTimeoutMS=3000
        )
        with client:
            found["mongo"] = set(client.list_database_names())

    def indices() -> None:
        params = {"h": "index", "format": "json"}
        answer = httpx.get(f"{OPENSEARCH_URL}/_cat/indices", params=params, timeout=30)
        answer.raise_for_status()
        found["indices"] = {item["index"] for item in answer.json()}

    def postgres() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            rows = conn.execute("SELECT datname FROM pg_database").fetchall()
            found["postgres"] = {name for (name,) in rows}

    for read in (rabbitmq, mongo, indices, postgres):
        try:
            patiently(read, patience)
        except Exception as exc:  # an engine down: its names are unknown, not empty
            print(f"engine inventory: {read.__name__} did not answer: {exc}")
    return found


def remove_names(names: dict[str, list[str]]) -> None:
    """Delete the named exchanges, queues, databases and indices (absent ones are fine).

    The engines are cleared side by side, and the databases and indices of each several at
    a time: every DROP DATABASE waits for a checkpoint, and drops made together share one
    (8 databases: 0.36 s each one after the other, 0.05 s each side by side)."""

    def each(remove: Callable[[str], None], kind: str) -> Callable[[], None]:
        def remove_all() -> None:
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(remove, names.get(kind, [])))

        return remove_all

    def rabbitmq() -> None:
        with httpx.Client(base_url=RABBITMQ_API, auth=("guest", "guest"), timeout=30) as api:
            for kind in ("queues", "exchanges"):
                for name in names.get(kind, []):
                    answer = api.delete(f"/{kind}/%2F/{quote(name, safe='')}")
                    if answer.status_code not in (204, 404):
                        answer.raise_for_status()

    def mongo() -> None:
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            MONGO_URL, serverSelectionTimeoutMS=5000
        )
        with client:
            each(client.drop_database, "mongo")()

    def index(name: str) -> None:
        answer = httpx.delete(f"{OPENSEARCH_URL}/{quote(name, safe='')}", timeout=30)
        if answer.status_code not in (200, 404):
            answer.raise_for_status()

    def database(name: str) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]

    removals = []
    if any(names.get(k) for k in ("queues", "exchanges")):
        removals.append(rabbitmq)
    if names.get("mongo"):
        removals.append(mongo)
    if names.get("indices"):
        removals.append(each(index, "indices"))
    if names.get("postgres"):
        removals.append(each(database, "postgres"))
    with ThreadPoolExecutor(max_workers=4) as engines:
        for done in [engines.submit(patiently, removal) for removal in removals]:
            done.result()


def isolated_fleet(
    port_offset: int | None = None,
    *,
    name: Callable[[str], str] = unique,
    database: Callable[[str, str], str] = create_pg_database,
    network_faults: bool = False,
) -> "IsolatedFleet":
    """A second fleet on other ports, with its own databases, index and exchange. `name(prefix)`
    makes its tag and `database(role, prefix)` its PostgreSQL databases: the tests pass theirs,
    which record what they hand out for their session's clean-up. `network_faults`: each of
    its links goes through a Toxiproxy proxy of its own (fleetctl/toxiproxy.py)."""
    if port_offset is None:
        port_offset = free_port_offset()
    tag = name("e2e")
    redis_db = claim_redis_db()
    env = {
        "AMQP_EXCHANGE": f"{tag}.events",
        "AMQP_QUEUE_PREFIX": f"{tag}.",
        "EVENT_DATABASE_URL": database("events", "e2e_events"),
        "PAYMENT_DATABASE_URL": database("payments", "e2e_payments"),
        "SAGA_DATABASE_URL": database("sagas", "e2e_sagas"),
        "RESERVATION_MONGO_DATABASE": f"{tag}_reservations",
        "NOTIFICATION_MONGO_DATABASE": f"{tag}_notifications",
        "EVENT_STORE_MONGO_DATABASE": f"{tag}_event_store",
        "ANALYTICS_INDEX": f"{tag}_event_analytics",
        # Payment ids restart at 1 in every throwaway database, and the cache key is
        # payment:{id}: each isolated fleet gets a Redis db of its own, emptied first.
        "PAYMENT_REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "JSON_LOGS": "true",
        # Caller-class tokens of its own: its services call each other's internal endpoints
        # with the first; the tools' operator calls carry the second.
        "SERVICE_TOKEN": f"fleet-service-{uuid.uuid4().hex}",
        "OPERATOR_TOKEN": f"fleet-operator-{uuid.uuid4().hex}",
    }
    run_dir = ROOT / ".data" / "test-fleets" / tag
    fleet = IsolatedFleet(run_dir=run_dir, log_dir=run_dir, port_offset=port_offset, env=env)
    fleet.redis_db = redis_db
    if network_faults:
        from fleetctl.toxiproxy import NetworkLinks, Toxiproxy, ensure_server

        api = Toxiproxy()
        ensure_server(api)
        fleet.network = NetworkLinks(fleet, tag, api)
        fleet.network.install()
    return fleet


class IsolatedFleet(Fleet):
    """A fleet that moves to other free ports when one of its ports was taken between
    the check and the bind (another test run on this machine)."""

    redis_db: int | None = None  # the Redis database it holds (claim_redis_db), given back by discard
    network: "NetworkLinks | None" = None  # its proxies, when started with network faults

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
                if self.network is not None:  # the orchestrator's proxies follow the participants
                    self.network.install()

    def discard(self) -> None:
        """Stop the fleet and remove what it made on the shared engines: its PostgreSQL
        databases, queues and exchange, MongoDB databases and search indices (a dev machine
        that runs the tests would otherwise collect them: 120 stale indices slowed its search
        node). An engine that is away (restarted by a chaos test or a nemesis) is waited for."""
        self.stop()
        if self.network is not None:
            self.network.remove()
            self.network = None
        env = self.env
        current = engine_inventory(patience=90)
        prefix, index = env["AMQP_QUEUE_PREFIX"], env["ANALYTICS_INDEX"]
        remove_names(
            {
                "queues": [q for q in current.get("queues", set()) if q.startswith(prefix)],
                "exchanges": [env["AMQP_EXCHANGE"]],
                "mongo": [env[f"{k}_MONGO_DATABASE"] for k in ("RESERVATION", "NOTIFICATION", "EVENT_STORE")],
                "indices": [i for i in current.get("indices", set()) if i.startswith(index)],
                "postgres": [
                    str(make_url(env[k]).database)
                    for k in ("EVENT_DATABASE_URL", "PAYMENT_DATABASE_URL", "SAGA_DATABASE_URL")
                ],
            }
        )
        if self.redis_db is not None:
            release_redis_db(self.redis_db)
            self.redis_db = None
