"""One date-time input type for the fleet (shared.schemas.UtcDateTime): naive is UTC, an
offset is converted, and an instant UTC cannot represent is a validation error (a 422 naming
the field), never an OverflowError (a 500). Every route's body fields and query filters that
take a date-time use it."""

import importlib
import types
import typing
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any, get_args, get_origin

import pytest
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, ValidationError

from fleetctl.fleet import PACKAGES as SERVICE_PACKAGES
from shared.schemas import UTC_DATETIME, as_utc, parse_utc

UNREPRESENTABLE = [
    "0001-01-01T02:04:14+12:46",
    "0001-01-01T00:00:00+00:01",
    "0001-01-01T23:58:59+23:59",
    "9999-12-31T23:00:00-05:00",
    "9999-12-31T23:59:59.999999-00:01",
]


@pytest.mark.parametrize("text", UNREPRESENTABLE)
def test_an_instant_outside_utc_is_a_validation_error(text: str):
    with pytest.raises(ValidationError) as caught:
        UTC_DATETIME.validate_python(text)
    assert "cannot be represented in UTC" in str(caught.value)
    with pytest.raises(ValueError):
        parse_utc(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-12-25T20:00:00", datetime(2025, 12, 25, 20, tzinfo=UTC)),
        ("2025-12-25T20:00:00+02:00", datetime(2025, 12, 25, 18, tzinfo=UTC)),
        ("0001-01-01T00:00:00", datetime(1, 1, 1, tzinfo=UTC)),
        ("0001-01-01T12:00:00+12:00", datetime(1, 1, 1, tzinfo=UTC)),
        ("0001-01-01T00:00:00-12:00", datetime(1, 1, 1, 12, tzinfo=UTC)),
        ("9999-12-31T23:59:59", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("9999-12-31T12:00:00+05:00", datetime(9999, 12, 31, 7, tzinfo=UTC)),
    ],
)
def test_the_calendar_limits_that_utc_can_represent_are_taken(text: str, expected: datetime):
    value = parse_utc(text)
    assert value == expected and value.utcoffset() == timedelta(0)


def test_a_python_datetime_with_an_offset_is_converted_and_a_naive_one_is_utc():
    plus_two = timezone(timedelta(hours=2))
    assert as_utc(datetime(2030, 1, 1, 2, tzinfo=plus_two)) == datetime(2030, 1, 1, tzinfo=UTC)
    assert as_utc(datetime(2030, 1, 1)).tzinfo is UTC


def _is_utc_datetime(annotation: Any, metadata: list[Any]) -> list[str]:
    """Spots a bare `datetime` anywhere in an annotation (unions, lists, Optional) that is
    not wrapped in the shared validator; returns what it found wrong."""
    if annotation is datetime:
        validators = [m for m in metadata if isinstance(m, AfterValidator)]
        return [] if any(v.func is as_utc for v in validators) else ["datetime without as_utc"]
    if get_origin(annotation) is Annotated:
        inner, *extra = get_args(annotation)
        return _is_utc_datetime(inner, [*metadata, *extra])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        problems = []
        for name, field in annotation.model_fields.items():
            for problem in _is_utc_datetime(field.annotation, list(field.metadata)):
                problems.append(f"{annotation.__name__}.{name}: {problem}")
        return problems
    if get_origin(annotation) in (typing.Union, types.UnionType, list, tuple, set, dict):
        return [p for arg in get_args(annotation) for p in _is_utc_datetime(arg, metadata)]
    return []


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """The app's APIRoutes, through the routers it includes."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += api_routes(route.original_router.routes)
    return found


def _inputs(dependant: Any) -> list[Any]:
    fields = [*dependant.query_params, *dependant.body_params, *dependant.path_params]
    for sub in dependant.dependencies:
        fields += _inputs(sub)
    return fields


@pytest.mark.parametrize("package", SERVICE_PACKAGES)
def test_every_datetime_input_uses_the_shared_type(package: str):
    app = importlib.import_module(f"{package}.app").create_app()
    problems = []
    routes = api_routes(app.routes)
    assert routes
    for route in routes:
        for field in _inputs(route.dependant):
            info = field.field_info
            for problem in _is_utc_datetime(info.annotation, list(info.metadata)):
                problems.append(f"{sorted(route.methods)} {route.path} {field.name}: {problem}")
    assert not problems, "\n".join(problems)
