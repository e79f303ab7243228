"""Stored answers in PostgreSQL (the `idempotency_keys` table of shared/sql.py), read and
written in the caller's transaction."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared import sql
from shared.idempotency import FENCED, Idempotency, StoredAnswer


async def find_answer(conn: AsyncConnection, scope: str, idem: Idempotency) -> StoredAnswer | None:
    """The answer stored under the key, or None; IdempotencyKeyReused if its request differed."""
    t = sql.idempotency_keys
    row = (
        await conn.execute(
            sa.select(t.c.fingerprint, t.c.status_code, t.c.response).where(
                t.c.scope == scope, t.c.key == idem.key
            )
        )
    ).first()
    if row is None:
        return None
    idem.same_request(row.fingerprint)
    return StoredAnswer(row.status_code, row.response)


async def save_answer(conn: AsyncConnection, scope: str, idem: Idempotency, answer: StoredAnswer) -> None:
    """Insert in the caller's transaction; a concurrent twin raises IntegrityError."""
    values: dict[str, Any] = {
        "scope": scope,
        "key": idem.key,
        "fingerprint": idem.fingerprint,
        "status_code": answer.status_code,
        "response": answer.body,
    }
    await conn.execute(sql.idempotency_keys.insert().values(**values))


async def fence(conn: AsyncConnection, scope: str, key: str) -> StoredAnswer | None:
    """Fence `key` in the caller's transaction: None when it is fenced now (no request with it
    was done, and none will be), else the stored answer of the request that was done.

    The insert and a request's own insert of its answer meet on the primary key: a request
    whose transaction is still open makes this insert wait for its commit (then the answer
    is read) or its rollback (then the tombstone goes in)."""
    t = sql.idempotency_keys
    await conn.execute(
        pg_insert(t)
        .values(scope=scope, key=key, fingerprint=FENCED, status_code=409, response={"fenced": True})
        .on_conflict_do_nothing(index_elements=[t.c.scope, t.c.key])
    )
    row = (
        await conn.execute(
            sa.select(t.c.fingerprint, t.c.status_code, t.c.response).where(
                t.c.scope == scope, t.c.key == key
            )
        )
    ).one()
    if row.fingerprint == FENCED:
        return None
    return StoredAnswer(row.status_code, row.response)
