"""Inboxes: a consumer applies a message once, whatever the number of deliveries."""

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared import sql


async def first_delivery_sql(conn: AsyncConnection, message_id: str, consumer: str) -> bool:
    """Record the message in the caller's transaction; False when it was already applied."""
    stmt = (
        insert(sql.inbox)
        .values(message_id=message_id, consumer=consumer)
        .on_conflict_do_nothing(index_elements=["message_id"])
        .returning(sql.inbox.c.message_id)
    )
    return (await conn.execute(stmt)).first() is not None


async def first_delivery_mongo(
    inbox: AsyncCollection[dict[str, Any]], message_id: str, consumer: str, **kwargs: Any
) -> bool:
    """Record the message (pass session= to join a transaction); False when already seen."""
    try:
        await inbox.insert_one(
            {"_id": message_id, "consumer": consumer, "handledAt": datetime.now(UTC)}, **kwargs
        )
    except DuplicateKeyError:
        return False
    return True
