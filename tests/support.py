"""Test helpers: throwaway databases, names and apps against the real engines."""

import asyncio
import random
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import httpx
import psycopg
import pymongo
import redis
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from fleetctl.fleet import BY_NAME, EVERYTHING, Fleet, ServiceExited
from shared.callers import Caller, caller_of
from shared.web import api_routes

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres password=postgres dbname=postgres"
MONGO_URL = "mongodb://127.0.0.1:27017/?directConnection=true"
OPENSEARCH_URL = "http://127.0.0.1:9200"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
RABBITMQ_API = "http://127.0.0.1:15672/api"

_created_databases: list[str] = []
# Every token unique() handed out in this process: what carries one on the engines is this
# test session's, and only that may be removed (other sessions and the dev fleet share them).
_session_tokens: set[str] = set()
# Exchanges, queue prefixes, MongoDB databases and indices of the apps running() started.
_app_resources: dict[str, set[str]] = {k: set() for k in ("exchanges", "queue_prefixes", "mongo", "indices")}


def unique(prefix: str = "t") -> str:
    token = uuid.uuid4().hex[:10]
    _session_tokens.add(token)
    return f"{prefix}_{token}"


def handed_out_tokens() -> int:
    return len(_session_tokens)


def session_tokens() -> list[str]:
    return sorted(_session_tokens)


def made_by_this_session(name: str) -> bool:
    return any(token in name for token in _session_tokens)


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float = 15.0) -> T:
    """The probe's first truthy answer (polled every 50 ms); fails when the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.05)


def create_pg_database(role: str, prefix: str = "test") -> str:
    """A new empty database owned by `role` (whose password is its name); its SQLAlchemy URL."""
    name = unique(prefix)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" OWNER {role}')
    _created_databases.append(name)
    return f"postgresql+psycopg://{role}:{role}@127.0.0.1:5432/{name}"


def drop_created_databases() -> None:
    if _created_databases:
        remove_names({"postgres": list(_created_databases)})
    _created_databases.clear()


def remember_resources(settings: object) -> None:
    """What an app of this session declares on the shared engines (in-process through
    running(), or a process started on these settings), removed when the session ends
    (remove_session_resources): not at the app's exit, since tests restart an app on
    the same settings and expect its queues and data still there."""
    for kind, attribute in (
        ("exchanges", "amqp_exchange"),
        ("queue_prefixes", "amqp_queue_prefix"),
        ("mongo", "mongo_database"),
        ("indices", "index"),
    ):
        name = getattr(settings, attribute, None)
        if isinstance(name, str) and name and made_by_this_session(name):
            _app_resources[kind].add(name)


# The caller-class tokens of this test session: every app made in-process reads them from the
# environment (tests/conftest.py sets them); each isolated fleet gets tokens of its own.
SERVICE_TOKEN = f"test-service-{uuid.uuid4().hex}"
OPERATOR_TOKEN = f"test-operator-{uuid.uuid4().hex}"
# For a test client calling an internal endpoint of an app of this session as the fleet would.
AS_FLEET = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


class CallerAuth(httpx.Auth):
    """Sends, on each request, the token its route's caller class requires (the service token
    for an internal route, the operator token for an operator one), as the fleet's services or
    an operator would. A request that sets its own Authorization header keeps it. Tests of the
    caller classes themselves use a client without it."""

    def __init__(self, routes: list[tuple[re.Pattern[str], set[str], str]], tokens: dict[str, str]) -> None:
        self.routes = routes
        self.tokens = tokens

    @classmethod
    def for_app(cls, app: FastAPI) -> "CallerAuth":
        settings = app.state.settings
        tokens = {
            kind: secret.get_secret_value()
            for kind, secret in (("internal", settings.service_token), ("operator", settings.operator_token))
            if secret is not None
        }
        routes = [
            (
                route.path_regex,
                set(route.methods or ()),
                (caller_of(route.dependencies) or Caller.PUBLIC).value,
            )
            for route in api_routes(app.routes)
        ]
        return cls(routes, tokens)

    @classmethod
    def for_document(cls, document: dict[str, object], tokens: dict[str, str]) -> "CallerAuth":
        """From a service's OpenAPI document, whose operations say their class (x-caller)."""
        routes = []
        paths = document.get("paths")
        assert isinstance(paths, dict)
        for path, item in paths.items():
            pattern = re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "$")
            for method, operation in item.items():
                routes.append((pattern, {method.upper()}, str(operation.get("x-caller", "public"))))
        return cls(routes, tokens)

    def token_for(self, method: str, path: str) -> str | None:
        for pattern, methods, kind in self.routes:
            if method in methods and pattern.match(path):
                return self.tokens.get(kind)
        return None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token_for(request.method, request.url.path)
        if token and "authorization" not in request.headers:
            request.headers["Authorization"] = f"Bearer {token}"
        yield request


@asynccontextmanager
async def running(app: FastAPI, *, as_fleet: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run (real engines), and an HTTP client talking to it in-process.
    The client carries the token each route's caller class requires (CallerAuth) unless
    `as_fleet=False`: a stranger's client."""
    remember_resources(app.state.settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        auth = CallerAuth.for_app(app) if as_fleet else None
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", timeout=30, auth=auth
        ) as client:
            yield client


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """The app served over real TCP on a free port (for clients that do not take an in-process
    transport); yields its base URL. The socket is bound here and handed to uvicorn, so no
    other process can take the port in between."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def free_port_offset() -> int:
    """An offset that puts the seven services' and the console's ports on free ports (parallel
    test runs differ)."""
    for _ in range(200):
        # Every port stays below 32768, where Linux hands out ephemeral ports to outgoing
        # connections: one of those could take a service's port between this check and its bind.
        offset = random.randrange(10, 24) * 1000 + random.randrange(0, 600)
        if all(_port_free(s.port + offset) for s in EVERYTHING):
            return offset
    raise RuntimeError("no free port range for a test fleet")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def fresh_redis_db() -> int:
    """A Redis database number in 11..15 (0 is the dev fleet's, 1..10 the unit tests'), emptied."""
    number = random.randrange(11, 16)
    redis.Redis(host="127.0.0.1", port=6379, db=number).flushdb()
    return number


ENGINE_KINDS = ("exchanges", "queues", "mongo", "indices", "postgres")


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


def session_leftovers(before: dict[str, set[str]], after: dict[str, set[str]]) -> dict[str, list[str]]:
    """Names that appeared since `before` and carry a token of this session."""
    found = {}
    for kind in ENGINE_KINDS:
        names = sorted(n for n in after.get(kind, set()) - before.get(kind, set()) if made_by_this_session(n))
        if names:
            found[kind] = names
    return found


def patiently(action: Callable[[], T], seconds: float = 90.0) -> T:
    """The action's result, retried while an engine is away: the engines are shared, and a
    chaos test (this session's or another's) may be restarting one."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return action()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def remove_names(names: dict[str, list[str]]) -> None:
    """Delete the named exchanges, queues, databases and indices (absent ones are fine)."""

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
            for name in names.get("mongo", []):
                client.drop_database(name)

    def indices() -> None:
        for name in names.get("indices", []):
            answer = httpx.delete(f"{OPENSEARCH_URL}/{quote(name, safe='')}", timeout=30)
            if answer.status_code not in (200, 404):
                answer.raise_for_status()

    def postgres() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            for name in names.get("postgres", []):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]

    if any(names.get(k) for k in ("queues", "exchanges")):
        patiently(rabbitmq)
    if names.get("mongo"):
        patiently(mongo)
    if names.get("indices"):
        patiently(indices)
    if names.get("postgres"):
        patiently(postgres)


def remove_session_resources() -> None:
    """Remove what this session's apps and databases made: its PostgreSQL databases, and the
    exchanges, queues (by prefix), MongoDB databases and indices (with their suffixed
    versions) of every app running() started."""
    drop_created_databases()
    if not any(_app_resources.values()):
        return
    current = engine_inventory(patience=90)
    prefixes, indices = tuple(_app_resources["queue_prefixes"]), tuple(_app_resources["indices"])
    remove_names(
        {
            "queues": [q for q in current.get("queues", set()) if prefixes and q.startswith(prefixes)],
            "exchanges": sorted(_app_resources["exchanges"]),
            "mongo": sorted(_app_resources["mongo"]),
            "indices": [i for i in current.get("indices", set()) if indices and i.startswith(indices)],
        }
    )
    for made in _app_resources.values():
        made.clear()


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
        # payment:{id}: each test fleet gets a Redis db of its own, emptied first.
        "PAYMENT_REDIS_URL": f"redis://127.0.0.1:6379/{fresh_redis_db()}",
        "JSON_LOGS": "true",
        # Tokens of its own: the fleet's services call each other's internal endpoints with it.
        "SERVICE_TOKEN": f"fleet-service-{uuid.uuid4().hex}",
        "OPERATOR_TOKEN": f"fleet-operator-{uuid.uuid4().hex}",
    }
    run_dir = ROOT / ".data" / "test-fleets" / tag
    return IsolatedFleet(run_dir=run_dir, log_dir=run_dir, port_offset=port_offset, env=env)


class IsolatedFleet(Fleet):
    """A test fleet that moves to other free ports when one of its ports was taken between
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

    def auth(self) -> "FleetAuth":
        """For an httpx client: the tokens this fleet's routes require, as its services send them."""
        return FleetAuth(self)

    def discard(self) -> None:
        """Stop the fleet and remove what it made on the shared engines: its PostgreSQL
        databases, queues and exchange, MongoDB databases and search indices (a dev machine
        that runs the tests would otherwise collect them: 120 stale indices slowed its search
        node)."""
        self.stop()
        env = self.env
        databases = [
            str(make_url(env[k]).database)
            for k in ("EVENT_DATABASE_URL", "PAYMENT_DATABASE_URL", "SAGA_DATABASE_URL")
        ]
        current = engine_inventory(patience=90)
        prefix, index = env["AMQP_QUEUE_PREFIX"], env["ANALYTICS_INDEX"]
        remove_names(
            {
                "queues": [q for q in current.get("queues", set()) if q.startswith(prefix)],
                "exchanges": [env["AMQP_EXCHANGE"]],
                "mongo": [env[f"{k}_MONGO_DATABASE"] for k in ("RESERVATION", "NOTIFICATION", "EVENT_STORE")],
                "indices": [i for i in current.get("indices", set()) if i.startswith(index)],
                "postgres": databases,
            }
        )
        for name in databases:
            if name in _created_databases:
                _created_databases.remove(name)


class FleetAuth(httpx.Auth):
    """CallerAuth for a fleet over HTTP: each service's classes read from its OpenAPI document
    (once), the tokens from the fleet's settings."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.by_port: dict[int, CallerAuth] = {}

    def _service(self, port: int | None) -> CallerAuth | None:
        if port is None:
            return None
        if port not in self.by_port:
            names = [name for name, service in BY_NAME.items() if self.fleet.port(service) == port]
            if not names:
                return None
            answer = httpx.get(f"{self.fleet.url(names[0])}/openapi.json", timeout=30)
            if answer.status_code != 200:
                return None  # not one of the seven services (the console)
            document = answer.json()
            env = self.fleet.env
            tokens = {"internal": env["SERVICE_TOKEN"], "operator": env["OPERATOR_TOKEN"]}
            self.by_port[port] = CallerAuth.for_document(document, tokens)
        return self.by_port[port]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        service = self._service(request.url.port)
        token = service.token_for(request.method, request.url.path) if service else None
        if token and "authorization" not in request.headers:
            request.headers["Authorization"] = f"Bearer {token}"
        yield request
