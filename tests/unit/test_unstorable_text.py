"""Text no engine can store is refused at the edge, naming the field: a NUL character
(PostgreSQL text holds none) or a lone surrogate (no UTF-8 form) in a body, anywhere in its
strings, keys included; a NUL or non-UTF-8 bytes in a path or query value."""

import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from shared.schemas import ApiInput
from shared.web import unstorable_url


class Body(ApiInput):
    name: str = "ok"
    metadata: dict[str, object] = {}
    tags: list[str] = []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "a\x00b"}, "name"),
        ({"metadata": {"\x00": 1}}, "metadata"),
        ({"metadata": {"k": ["x", {"y": "\udfff"}]}}, "metadata"),
        ({"tags": ["fine", "\ud800"]}, "tags"),
    ],
)
def test_a_body_with_unstorable_text_names_the_field(fields: dict[str, object], field: str):
    with pytest.raises(ValidationError) as caught:
        Body(**fields)
    assert [e["loc"][0] for e in caught.value.errors()] == [field]


def test_ordinary_text_passes():
    body = Body(name="Soirée à Gorée 🎷", metadata={"clé": ["ü", {"n": 1}]}, tags=["ok"])
    assert body.name == "Soirée à Gorée 🎷"


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/api/x", b"reservationId=%00", "query.reservationId"),
        ("/api/x", b"location=%ED%A0%80", "query.location"),
        ("/api/x", b"location=%FF", "query.location"),
        ("/api/x\x00", b"", "path"),
    ],
)
def test_a_url_with_unstorable_bytes_names_the_field(path: str, query: bytes, field: str):
    assert [e["field"] for e in unstorable_url({"path": path, "query_string": query})] == [field]


def test_a_url_with_ordinary_text_passes():
    assert unstorable_url({"path": "/api/x/1", "query_string": b"location=Gor%C3%A9e&page=2&empty="}) == []


def test_a_nul_in_a_path_parameter_names_that_parameter():
    app = FastAPI()

    @app.put("/api/things/fences/{key}")
    async def fence(key: str) -> None: ...

    scope = {"type": "http", "method": "PUT", "path": "/api/things/fences/a\x00b", "app": app}
    assert [e["field"] for e in unstorable_url({**scope, "query_string": b""})] == ["path.key"]
