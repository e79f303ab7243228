"""Idempotency-Key: the first answer to a key is stored and replayed for every retry.

The same key with a different body is refused (422): the key names one request, not a slot.
Stores save the answer inside the transaction of the change itself, so "done" and
"answer stored" cannot disagree; a racing duplicate hits the primary key, rolls back, and
replays the winner's answer.

A caller that gave up on a request (no answer after its retries) fences the key before it
concludes "nothing was done": the fence stores a tombstone under the key unless an answer is
already there, atomically with the stores of the requests themselves (the same unique key),
so either the request was done (the fence returns its answer) or it never will be (a late
copy of it finds the tombstone and is refused with 409, changing nothing).

This module holds the pure pieces every service shares (the request's `Idempotency`, the
`StoredAnswer`, the fingerprint); the stores are `shared.idempotency.sql` and
`shared.idempotency.mongo`, the HTTP header is read by `shared.idempotency.header`.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from shared.errors import Conflict, RuleBroken

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# The fingerprint of a tombstone: a sha256 hex digest never equals it.
FENCED = "fenced"


class IdempotencyKeyReused(RuleBroken):
    title = "Idempotency key reused"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key '{key}' was already used with a different request.",
            errors=[{"field": IDEMPOTENCY_HEADER, "message": "already used with a different request"}],
        )


class KeyFenced(Conflict):
    """A request under a key its caller fenced: the caller stopped waiting and was told
    nothing was done, so this late copy must not act."""

    title = "Idempotency key fenced"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key '{key}' was fenced by its caller, who gave up on the request: "
            "this late copy is refused and changed nothing.",
            errors=[{"field": IDEMPOTENCY_HEADER, "message": "fenced by its caller"}],
        )


def fingerprint(payload: Any) -> str:
    """Stable hash of a request body (key order does not matter)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Idempotency:
    """A request's Idempotency-Key and the fingerprint of what it asked."""

    key: str
    fingerprint: str

    @classmethod
    def of(cls, key: str | None, request: Any) -> "Idempotency | None":
        """None without a key: the request is then not deduplicated."""
        return cls(key, fingerprint(request)) if key is not None else None

    def same_request(self, stored_fingerprint: str | None) -> None:
        """Raise IdempotencyKeyReused when the key was first used for another request, and
        KeyFenced when its caller fenced it."""
        if stored_fingerprint == FENCED:
            raise KeyFenced(self.key)
        if stored_fingerprint != self.fingerprint:
            raise IdempotencyKeyReused(self.key)


@dataclass(frozen=True)
class StoredAnswer:
    """The answer given to the first request with a key, replayed to its retries."""

    status_code: int
    body: Any
