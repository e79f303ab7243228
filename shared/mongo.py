"""MongoDB-wire plumbing: one AsyncMongoClient per service, ping, and the errors that mean
"the MongoDB-wire engine is down"."""

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure

from shared import tracing

# What a consumer's handler raises when the engine cannot be reached (Broker's engine_down).
ENGINE_DOWN: tuple[type[BaseException], ...] = (ConnectionFailure,)


def make_client(url: str) -> AsyncMongoClient[dict[str, Any]]:
    # socketTimeoutMS: no single read from the engine waits forever. The driver's own
    # monitoring notices an engine that stopped answering altogether; this bounds an
    # operation whose answer never comes on a connection that otherwise looks alive (a
    # request or a shutdown would wait on it for good). Our callers give up after seconds.
    tracing.instrument("pymongo")  # a span per command, in the trace of the work that sent it
    return AsyncMongoClient(
        url, tz_aware=True, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000, socketTimeoutMS=20_000
    )


async def ping(database: AsyncDatabase[dict[str, Any]]) -> None:
    await database.command("ping")
