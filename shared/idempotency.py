"""Idempotency-Key: the first answer to a key is stored and replayed for every retry.

The same key with a different body is refused (422): the key names one request, not a slot.
Stores save the answer inside the transaction of the change itself, so "done" and
"answer stored" cannot disagree; a racing duplicate hits the primary key, rolls back, and
replays the winner's answer.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import Header
from pymongo.asynchronous.collection import AsyncCollection
from sqlalchemy.ext.asyncio import AsyncConnection

from shared import sql
from shared.errors import RuleBroken

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(RuleBroken):
    title = "Idempotency key reused"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key '{key}' was already used with a different request.",
            errors=[{"field": IDEMPOTENCY_HEADER, "message": "already used with a different request"}],
        )


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: Any


def fingerprint(payload: Any) -> str:
    """Stable hash of a request body (key order does not matter)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


async def idempotency_key_header(
    idempotency_key: str | None = Header(
        default=None,
        alias=IDEMPOTENCY_HEADER,
        max_length=MAX_KEY_LENGTH,
        min_length=1,
        description="Retries with the same key and body get the first answer again.",
    ),
) -> str | None:
    return idempotency_key


def _check(found: StoredAnswer, stored_fingerprint: str, key: str, expected: str) -> StoredAnswer:
    if stored_fingerprint != expected:
        raise IdempotencyKeyReused(key)
    return found


async def find_answer_sql(conn: AsyncConnection, scope: str, key: str, print_: str) -> StoredAnswer | None:
    t = sql.idempotency_keys
    row = (
        await conn.execute(
            sa.select(t.c.fingerprint, t.c.status_code, t.c.response).where(
                t.c.scope == scope, t.c.key == key
            )
        )
    ).first()
    if row is None:
        return None
    return _check(StoredAnswer(row.status_code, row.response), row.fingerprint, key, print_)


async def save_answer_sql(
    conn: AsyncConnection, scope: str, key: str, print_: str, status_code: int, body: Any
) -> None:
    """Insert in the caller's transaction; a concurrent twin raises IntegrityError."""
    await conn.execute(
        sql.idempotency_keys.insert().values(
            scope=scope, key=key, fingerprint=print_, status_code=status_code, response=body
        )
    )


async def find_answer_mongo(
    keys: AsyncCollection[dict[str, Any]], scope: str, key: str, print_: str, **kwargs: Any
) -> StoredAnswer | None:
    doc = await keys.find_one({"_id": f"{scope}:{key}"}, **kwargs)
    if doc is None:
        return None
    return _check(StoredAnswer(doc["statusCode"], doc["response"]), doc["fingerprint"], key, print_)


async def save_answer_mongo(
    keys: AsyncCollection[dict[str, Any]],
    scope: str,
    key: str,
    print_: str,
    status_code: int,
    body: Any,
    **kwargs: Any,
) -> None:
    """Raises DuplicateKeyError when a concurrent twin stored its answer first."""
    await keys.insert_one(
        {
            "_id": f"{scope}:{key}",
            "fingerprint": print_,
            "statusCode": status_code,
            "response": body,
            "createdAt": datetime.now(UTC),
        },
        **kwargs,
    )
