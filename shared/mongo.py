"""MongoDB-wire plumbing: one AsyncMongoClient per service, ping, and the idempotency-key
and inbox collections MongoDB services share."""

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase


def make_client(url: str) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000)


async def ping(database: AsyncDatabase[dict[str, Any]]) -> None:
    await database.command("ping")
