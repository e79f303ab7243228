"""Test helpers: throwaway databases, names and apps against the real engines."""

import asyncio
import contextlib
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import aio_pika
import httpx
import uvicorn
from fastapi import FastAPI

from fleetctl import isolated
from fleetctl.fleet import BY_NAME, Fleet
from fleetctl.isolated import (  # noqa: F401  (the tests' names for the engines' admin helpers)
    ENGINE_KINDS,
    MONGO_URL,
    OPENSEARCH_URL,
    PG_ADMIN,
    RABBITMQ_API,
    IsolatedFleet,
    claim_redis_db,
    engine_inventory,
    free_port_offset,
    patiently,
    release_redis_db,
    remove_names,
)
from shared.callers import Caller, caller_of
from shared.messaging.topology import FLEET_QUEUES
from shared.web import api_routes

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"

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


def _database_name(prefix: str) -> str:
    """A unique() name, recorded before the database is made so the session drops it."""
    name = unique(prefix)
    _created_databases.append(name)
    return name


@contextlib.contextmanager
def redis_db() -> Iterator[int]:
    """A Redis database number held by this test alone (claim_redis_db: parallel workers and
    other test runs never share it), emptied; given back at the end of the block."""
    number = claim_redis_db()
    try:
        yield number
    finally:
        release_redis_db(number)


def create_pg_database(role: str, prefix: str = "test") -> str:
    """A new empty database owned by `role` (whose password is its name); its SQLAlchemy URL.
    Dropped when the session ends."""
    return isolated.create_pg_database(role, prefix, name=_database_name)


async def drop_exchange(exchange: str, queues: tuple[str, ...] = (), prefix: str | None = None) -> None:
    """Delete the queues and the exchange (absent ones are fine), over AMQP. With `prefix`, also
    the fleet's consumer queues under it (with their retry and dead-letter queues): every
    service's broker declares those when it connects (shared/messaging/topology.py)."""
    if prefix is not None:
        queues = (
            *queues,
            *(f"{prefix}{spec.name}{end}" for spec in FLEET_QUEUES for end in ("", ".retry", ".dlq")),
        )
    connection = await aio_pika.connect_robust(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        for name in queues:
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)
        with contextlib.suppress(Exception):
            await channel.exchange_delete(exchange)


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


def session_leftovers(before: dict[str, set[str]], after: dict[str, set[str]]) -> dict[str, list[str]]:
    """Names that appeared since `before` and carry a token of this session."""
    found = {}
    for kind in ENGINE_KINDS:
        names = sorted(n for n in after.get(kind, set()) - before.get(kind, set()) if made_by_this_session(n))
        if names:
            found[kind] = names
    return found


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


def isolated_fleet(port_offset: int | None = None) -> IsolatedFleet:
    """A second fleet on other ports, with its own databases, index and exchange (named by
    unique(), so the session's clean-up knows them even when a run dies before discard)."""
    return isolated.isolated_fleet(port_offset, name=unique, database=create_pg_database)


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
