"""The result of an idempotent write, as a use case hands it to its api."""

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class WriteResult(Generic[T]):
    """What a write produced, and whether it is the stored result of an earlier request with
    the same Idempotency-Key (`replayed`: nothing changed this time, nothing to publish)."""

    value: T
    replayed: bool = False
