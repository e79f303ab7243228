"""Stored answers in a MongoDB collection, one document per scope and key; pass session= to
join the caller's transaction."""

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from shared.idempotency import Idempotency, StoredAnswer


async def find_answer(
    keys: AsyncCollection[dict[str, Any]], scope: str, idem: Idempotency, **kwargs: Any
) -> StoredAnswer | None:
    """The answer stored under the key, or None; IdempotencyKeyReused if its request differed."""
    doc = await keys.find_one({"_id": f"{scope}:{idem.key}"}, **kwargs)
    if doc is None:
        return None
    idem.same_request(doc["fingerprint"])
    return StoredAnswer(doc["statusCode"], doc["response"])


async def save_answer(
    keys: AsyncCollection[dict[str, Any]],
    scope: str,
    idem: Idempotency,
    answer: StoredAnswer,
    **kwargs: Any,
) -> None:
    """Raises DuplicateKeyError when a concurrent twin stored its answer first."""
    await keys.insert_one(
        {
            "_id": f"{scope}:{idem.key}",
            "fingerprint": idem.fingerprint,
            "statusCode": answer.status_code,
            "response": answer.body,
            "createdAt": datetime.now(UTC),
        },
        **kwargs,
    )
