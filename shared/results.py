"""The result of an idempotent write, as a use case hands it to its api, and how a store keeps
a result (a record of the domain, a dataclass) under its Idempotency-Key: as JSON with the
camelCase field names of the answer it produced."""

import functools
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from enum import Enum
from types import NoneType, UnionType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, get_args, get_type_hints

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")
R = TypeVar("R", bound="DataclassInstance")


@dataclass(frozen=True)
class WriteResult(Generic[T]):
    """What a write produced, and whether it is the stored result of an earlier request with
    the same Idempotency-Key (`replayed`: nothing changed this time, nothing to publish)."""

    value: T
    replayed: bool = False


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def record_to_json(record: "DataclassInstance") -> dict[str, Any]:
    """Dates in ISO 8601, decimals as strings (no float rounding), enums as their values."""
    doc: dict[str, Any] = {}
    for field in fields(record):
        value = getattr(record, field.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, Enum):
            value = value.value
        doc[camel(field.name)] = value
    return doc


def record_from_json(cls: type[R], doc: Mapping[str, Any]) -> R:
    """The record `record_to_json` wrote."""
    return cls(**{name: _typed(doc[camel(name)], target) for name, target in _field_types(cls)})


@functools.cache
def _field_types(cls: type) -> tuple[tuple[str, Any], ...]:
    hints = get_type_hints(cls)
    return tuple((field.name, _not_optional(hints[field.name])) for field in fields(cls))


def _not_optional(hint: Any) -> Any:
    if isinstance(hint, UnionType):
        kept = [arg for arg in get_args(hint) if arg is not NoneType]
        return kept[0] if len(kept) == 1 else hint
    return hint


def _typed(value: Any, target: Any) -> Any:
    if value is None or not isinstance(target, type) or isinstance(value, target):
        return value
    if target is datetime:
        return datetime.fromisoformat(value)
    if target is Decimal:
        return Decimal(str(value))
    if issubclass(target, Enum):
        return target(value)
    return value
