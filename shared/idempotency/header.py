"""The Idempotency-Key request header, as a FastAPI dependency of the routes that take it."""

from fastapi import Header

from shared.idempotency import IDEMPOTENCY_HEADER, MAX_KEY_LENGTH


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
