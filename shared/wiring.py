"""What every service's lifespan does: open its engines, register their readiness checks,
start the broker, relays and background loops, and at shutdown stop them in reverse order.
A service says only what it opens and starts:

    async def start(wire: Wiring) -> None:
        engine = await wire.postgres(settings.database_url, MIGRATIONS)
        broker = wire.broker(settings)
        relay = wire.sql_relay(engine, settings.outbox_poll_seconds)
        wire.state.events = Events(...)  # what its routes take (shared.web.from_state)
        await wire.start_messaging()

    return service_app(settings, title=..., description=..., routers=[api.router], start=start)
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from shared.messaging.broker import Broker
from shared.messaging.outbox import Relay
from shared.settings import ServiceSettings

# Each engine's plumbing is imported by the method that opens that engine, never here: a
# service then loads only the database clients it uses (each costs megabytes of memory in
# every process that imports it; tests/unit/test_service_imports.py holds the line).
if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI
    from pymongo.asynchronous.collection import AsyncCollection
    from pymongo.asynchronous.database import AsyncDatabase
    from sqlalchemy.ext.asyncio import AsyncEngine

    from shared.messaging.mongo_outbox import MongoOutboxRelay
    from shared.messaging.sql_outbox import SqlOutboxRelay

Check = Callable[[], Awaitable[Any]]
R = TypeVar("R", bound=Relay)


class Wiring:
    def __init__(self, app: "FastAPI", stack: AsyncExitStack) -> None:
        self.app = app
        self.state = app.state
        self._stack = stack
        self._broker: Broker | None = None
        self._relays: list[Relay] = []

    def on_stop(self, stop: Callable[[], Awaitable[Any]]) -> None:
        """Run `stop` at shutdown, before whatever was registered earlier."""
        self._stack.push_async_callback(stop)

    def required(self, name: str, check: Check) -> None:
        """/ready is 503 while `check` fails."""
        self.state.readiness[name] = check

    def optional(self, name: str, check: Check) -> None:
        """/ready reports `check`'s failure as "degraded" but stays 200."""
        self.state.optional_checks[name] = check

    async def postgres(self, url: str, migrations: Path) -> "AsyncEngine":
        """The schema migrated to its newest revision, and a pooled engine (app.state.engine)."""
        from shared import sql

        await sql.migrate(url, migrations)
        engine = sql.make_engine(url)
        self.on_stop(engine.dispose)
        self.state.engine = engine
        self.required("postgres", lambda: sql.ping(engine))
        self.state.engine_down.append((sql.ENGINE_DOWN, "PostgreSQL"))
        return engine

    def mongodb(self, url: str, database: str) -> "AsyncDatabase[dict[str, Any]]":
        """The service's database (app.state.database; its client is app.state.mongo)."""
        from shared import mongo

        client = mongo.make_client(url)
        self.on_stop(client.close)
        db = client[database]
        self.state.mongo = client
        self.state.database = db
        self.required("mongodb", lambda: mongo.ping(db))
        self.state.engine_down.append((mongo.ENGINE_DOWN, "The MongoDB-wire server"))
        return db

    def broker(self, settings: ServiceSettings, *, engine_down: Iterable[type[BaseException]] = ()) -> Broker:
        """The service's broker (app.state.broker). The errors of the service's own engines
        make a consumer wait instead of spending a message's retries: those of the engines
        opened here before (postgres, mongodb), and `engine_down` for the others. Add the
        consumers, then `start_messaging`."""
        opened = (error for errors, _ in self.state.engine_down for error in errors)
        down = (*opened, *engine_down)
        broker = Broker(settings, self.state.metrics, engine_down=down)
        self._broker = broker
        self.state.broker = broker
        self.optional("rabbitmq", broker.ping)
        return broker

    def sql_relay(self, engine: "AsyncEngine", interval: float) -> "SqlOutboxRelay":
        """The relay of the service's outbox table (app.state.relay), started with the broker."""
        from shared.messaging.sql_outbox import SqlOutboxRelay

        return self._relay(SqlOutboxRelay(engine, self._started_broker(), interval, self.state.metrics))

    def mongo_relay(
        self, collections: "list[AsyncCollection[dict[str, Any]]]", interval: float
    ) -> "MongoOutboxRelay":
        """The relay of these collections' outbox arrays (app.state.relay), started with the broker."""
        from shared.messaging.mongo_outbox import MongoOutboxRelay

        return self._relay(
            MongoOutboxRelay(collections, self._started_broker(), interval, self.state.metrics)
        )

    async def start_messaging(self) -> None:
        """Connect the broker in the background (the service serves while RabbitMQ is down),
        then start the relays."""
        broker = self._started_broker()
        await broker.start()
        self.on_stop(broker.close)
        for relay in self._relays:
            relay.start()
            self.on_stop(relay.stop)

    def _started_broker(self) -> Broker:
        assert self._broker is not None, "call broker() first"
        return self._broker

    def _relay(self, relay: R) -> R:
        self._relays.append(relay)
        self.state.relay = relay
        return relay

    def background(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """A task cancelled at shutdown."""
        task = asyncio.create_task(work, name=name)

        async def cancel() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        self.on_stop(cancel)
        return task


@asynccontextmanager
async def wired(app: "FastAPI") -> AsyncIterator[Wiring]:
    """A Wiring whose registered stops run when the block ends (in reverse order)."""
    async with AsyncExitStack() as stack:
        yield Wiring(app, stack)


def service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    routers: "list[APIRouter]",
    start: Callable[[Wiring], Awaitable[None]],
) -> "FastAPI":
    """A service's app (shared.web.create_service_app) whose lifespan runs `start`, serves,
    then stops whatever `start` registered, in reverse order."""
    from shared.web import create_service_app

    @asynccontextmanager
    async def lifespan(app: "FastAPI") -> AsyncIterator[None]:
        async with wired(app) as wire:
            await start(wire)
            yield

    return create_service_app(
        settings, title=title, description=description, lifespan=lifespan, routers=routers
    )
