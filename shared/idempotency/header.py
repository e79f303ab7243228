"""The Idempotency-Key request header, as a FastAPI dependency of the routes that take it,
and the key of a fence route's path."""

from typing import Annotated

from fastapi import Depends, Header, Path

from shared.idempotency import IDEMPOTENCY_HEADER, MAX_KEY_LENGTH

# The key of a call to fence (PUT …/fences/{key}): what a header value can carry (visible
# ASCII), so no NUL or lone surrogate ever reaches a database from a path.
FencedKey = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        pattern=r"^[\x21-\x7E]+$",
        description="the Idempotency-Key of the call given up on",
    ),
]


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


# A route's Idempotency-Key parameter: `key: IdempotencyKey`.
IdempotencyKey = Annotated[str | None, Depends(idempotency_key_header)]
