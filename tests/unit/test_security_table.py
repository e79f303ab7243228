"""docs/security.md's table lists every route of the seven OpenAPI documents with the caller
class the route declares (x-caller): no route missing, none extra, none undeclared."""

import importlib
import re
from pathlib import Path

import pytest

from fleetctl.fleet import PACKAGES as SERVICES

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\|\s*(\w+)\s*\|\s*([A-Z]+)\s*\|\s*(\S+)\s*\|\s*(public|internal|operator)\s*\|\s*$")


def _table() -> set[tuple[str, str, str, str]]:
    rows = set()
    for line in (ROOT / "docs" / "security.md").read_text().splitlines():
        match = ROW.match(line)
        if match:
            rows.add((match.group(1), match.group(2), match.group(3), match.group(4)))
    return rows


def _documents() -> set[tuple[str, str, str, str]]:
    rows = set()
    for package in SERVICES:
        document = importlib.import_module(f"{package}.app").create_app().openapi()
        for path, item in document["paths"].items():
            for method, operation in item.items():
                rows.add((package, method.upper(), path, operation.get("x-caller", "undeclared")))
    return rows


def test_the_security_table_is_every_route_of_the_seven_documents_with_its_class():
    table, documents = _table(), _documents()
    assert len(table) > 40
    assert {r[0] for r in table} == set(SERVICES)
    undeclared = sorted(r for r in documents if r[3] == "undeclared")
    assert not undeclared, f"routes without a caller class: {undeclared}"
    missing = sorted(documents - table)
    extra = sorted(table - documents)
    assert not missing and not extra, (
        f"not in docs/security.md: {missing}\nnot a route (or another class): {extra}"
    )


@pytest.mark.parametrize("package", SERVICES)
def test_guarded_operations_declare_their_401_and_403(package: str):
    document = importlib.import_module(f"{package}.app").create_app().openapi()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            guarded = operation["x-caller"] in ("internal", "operator")
            assert guarded == ("401" in operation["responses"]), (method, path)
            assert guarded == ("403" in operation["responses"]), (method, path)
