"""Stored answers in PostgreSQL (the `idempotency_keys` table of shared/sql.py), read and
written in the caller's transaction."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared import sql
from shared.idempotency import Idempotency, StoredAnswer


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
