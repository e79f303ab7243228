"""Wire conventions shared by every API: camelCase out, camelCase or snake_case in, unknown
input fields refused, money as decimals, dates in UTC with their zone, capped pages."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

MAX_PAGE_SIZE = 100
# OpenSearch's max_result_window: a search pages through its first 10,000 hits only.
MAX_PAGE_DEPTH = 10_000


class ApiModel(BaseModel):
    """Output (and base) model: camelCase on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class ApiInput(ApiModel):
    """Request body: accepts camelCase or snake_case; an unknown field is a 422, which also
    stops mass assignment of id, version or counters."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        extra="forbid",
        str_strip_whitespace=True,
    )


def _as_utc(value: datetime) -> datetime:
    # The original's clients send "2025-12-25T20:00:00": a date-time without zone is UTC.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]

# Decimal in code and storage; a JSON number on the wire, as the original's clients expect.
Money = Annotated[
    Decimal,
    Field(max_digits=14, decimal_places=2),
    PlainSerializer(lambda d: float(d), return_type=float, when_used="json"),
]

T = TypeVar("T")


class Page(ApiModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int


class PageParams(BaseModel):
    page: int
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


async def page_params(
    page: int = Query(1, ge=1, le=100_000, description="1-based page number"),
    size: int = Query(20, ge=1, le=MAX_PAGE_SIZE, description=f"items per page, at most {MAX_PAGE_SIZE}"),
) -> PageParams:
    return PageParams(page=page, size=size)


async def search_page_params(
    page: int = Query(
        1,
        ge=1,
        le=MAX_PAGE_DEPTH // MAX_PAGE_SIZE,
        description=f"1-based page number; a search reaches its first {MAX_PAGE_DEPTH} results",
    ),
    size: int = Query(20, ge=1, le=MAX_PAGE_SIZE, description=f"items per page, at most {MAX_PAGE_SIZE}"),
) -> PageParams:
    """Paging of search-engine results: OpenSearch serves at most MAX_PAGE_DEPTH of them."""
    return PageParams(page=page, size=size)
