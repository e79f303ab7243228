"""Wire conventions shared by every API: camelCase out, camelCase or snake_case in, unknown
input fields refused, dates in UTC with their zone, capped pages."""

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, TypeAdapter, field_validator
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

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        # Text the engines cannot store is refused here, naming the field: PostgreSQL text
        # holds no NUL character, and a lone surrogate (a JSON "\\ud800") has no UTF-8 form
        # for any engine, nor for the messages that carry it on.
        problem = unstorable_text(value)
        if problem:
            raise ValueError(problem)
        return value


def unstorable_text(value: Any) -> str | None:
    """Why a string (or any string inside a dict or list: keys too) cannot be stored, or None."""
    if isinstance(value, str):
        if "\x00" in value:
            return "must not contain a NUL character (\\u0000)"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must not contain a lone surrogate: it has no UTF-8 form"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = unstorable_text(key) or unstorable_text(item)
            if problem:
                return problem
    elif isinstance(value, list | tuple):
        for item in value:
            problem = unstorable_text(item)
            if problem:
                return problem
    return None


NOT_IN_UTC = "cannot be represented in UTC: the instant must fall within years 1 to 9999 in UTC"


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; a date-time without zone is taken as UTC (the original's
    clients send "2025-12-25T20:00:00"). ValueError when the instant has no UTC form: year 1
    with a positive offset is still year 0 in UTC, year 9999 with a negative one year 10000,
    and Python's datetime (like the engines' clients) stops at 1 and 9999."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(NOT_IN_UTC) from None


def parse_utc(text: str) -> datetime:
    """An ISO 8601 date-time as text (a query parameter the route parses itself) in UTC;
    ValueError when it is not one, or has no UTC form."""
    return UTC_DATETIME.validate_python(text)


# The one date-time input type of the fleet: every request body and query filter uses it, so
# an instant outside what UTC can represent is a 422 naming the field, never a 500.
UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
UTC_DATETIME: TypeAdapter[datetime] = TypeAdapter(UtcDateTime)

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
