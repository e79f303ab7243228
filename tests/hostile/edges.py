"""Edge values for every input kind, and the requests that put them, one at a time, into an
otherwise valid request built from a service's OpenAPI document.

Kinds: calendar limits with offsets (an instant UTC cannot hold, the first and last instants
it can), integer and decimal limits (the engines' column sizes, 2**53, 2**63, 10**100),
NaN/Infinity/1e400 as JSON number tokens (Python's json module reads them), NUL, lone
surrogates and control characters in strings, very long strings, and ids of every wrong
shape in paths. A request body is written as raw JSON text, so a token no encoder would
write (NaN, a lone surrogate escape) reaches the server as a real client could send it.
"""

import json
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote


@dataclass(frozen=True)
class Raw:
    """A JSON token written as is: NaN, Infinity, 1e400, 1e-400."""

    token: str


@dataclass(frozen=True)
class Edge:
    label: str
    value: Any


DATETIMES = [
    Edge("year 1 with a positive offset", "0001-01-01T02:04:14+12:46"),
    Edge("year 1 one minute before UTC can hold it", "0001-01-01T00:00:00+00:01"),
    Edge("year 9999 with a negative offset", "9999-12-31T23:00:00-05:00"),
    Edge("the last microsecond with a negative offset", "9999-12-31T23:59:59.999999-00:01"),
    Edge("first instant in UTC", "0001-01-01T00:00:00Z"),
    Edge("first instant, naive", "0001-01-01T00:00:00"),
    Edge("last instant in UTC", "9999-12-31T23:59:59.999999Z"),
    Edge("last instant with a positive offset", "9999-12-31T23:59:59+14:00"),
    Edge("year 1 with a negative offset", "0001-01-01T00:00:00-14:00"),
    Edge("year 10000", "10000-01-01T00:00:00Z"),
    Edge("year 0", "0000-01-01T00:00:00Z"),
    Edge("negative year", "-0001-01-01T00:00:00Z"),
    Edge("February 30", "2030-02-30T00:00:00Z"),
    Edge("leap second", "2030-12-31T23:59:60Z"),
    Edge("offset beyond a day", "2030-01-01T00:00:00+24:00"),
    Edge("epoch seconds beyond year 9999", 253402300800),
    Edge("epoch seconds as a huge integer", 10**30),
    Edge("NaN as a date", Raw("NaN")),
]

INTEGERS = [
    Edge("zero", 0),
    Edge("minus one", -1),
    Edge("int32 max", 2**31 - 1),
    Edge("int32 max + 1", 2**31),
    Edge("int32 min - 1", -(2**31) - 1),
    Edge("2**53 + 1", 2**53 + 1),
    Edge("int64 max", 2**63 - 1),
    Edge("int64 max + 1", 2**63),
    Edge("int64 min - 1", -(2**63) - 1),
    Edge("uint64 max + 1", 2**64),
    Edge("10**100", 10**100),
    Edge("NaN", Raw("NaN")),
    Edge("Infinity", Raw("Infinity")),
    Edge("-Infinity", Raw("-Infinity")),
    Edge("1e400 (infinite as a float)", Raw("1e400")),
    Edge("1.5", 1.5),
    Edge("1.0", Raw("1.0")),
    Edge("1e3", Raw("1e3")),
    Edge("-0", Raw("-0")),
    Edge("boolean", True),
]

DECIMALS = [
    Edge("NaN", Raw("NaN")),
    Edge("Infinity", Raw("Infinity")),
    Edge("-Infinity", Raw("-Infinity")),
    Edge("1e400", Raw("1e400")),
    Edge("1e-400", Raw("1e-400")),
    Edge("negative zero", Raw("-0.0")),
    Edge("a thousandth", Raw("0.001")),
    Edge("largest NUMERIC(12,2)", Raw("9999999999.99")),
    Edge("one cent above NUMERIC(12,2)", Raw("10000000000.00")),
    Edge("largest 14 digits", Raw("999999999999.99")),
    Edge("10**100", 10**100),
    Edge("2**63", 2**63),
    Edge("many decimal places", Raw("1.000000000000000000000000000001")),
    Edge("NaN as text", "NaN"),
    Edge("Infinity as text", "Infinity"),
    Edge("sNaN as text", "sNaN"),
    Edge("1e999999999 as text", "1e999999999"),
    Edge("-1", -1),
]

STRINGS = [
    Edge("empty", ""),
    Edge("blank", "   "),
    Edge("NUL alone", "\u0000"),
    Edge("NUL inside", "a\u0000b"),
    Edge("lone high surrogate", "\ud800"),
    Edge("lone low surrogate", "x\udfff"),
    Edge("control characters", "\u0001\u001b[31m\u007f"),
    Edge("bidi and zero-width", "\u202e\u200bevil\u2066"),
    Edge("astral characters", "\U0001f3b5\U0010ffff"),
    Edge("long (1,000)", "x" * 1_000),
    Edge("very long (100,000)", "y" * 100_000),
    Edge("a Mongo operator", "$where"),
    Edge("a dotted key", "a.b"),
    Edge("SQL", "'; DROP TABLE events; --"),
    Edge("a number", 12),
    Edge("null", None),
    Edge("an object", {"$gt": ""}),
    Edge("a list", ["x"]),
]

OBJECTS = [
    Edge("NUL key", {"\u0000": 1}),
    Edge("lone surrogate key", {"\ud800": "x"}),
    Edge("$-key", {"$set": {"x": 1}}),
    Edge("dotted key", {"a.b": 1}),
    Edge("NaN value", {"x": Raw("NaN")}),
    Edge("huge integer value", {"x": 10**30}),
    Edge("nested deep", json.loads("[" * 200 + "]" * 200)),
    Edge("a string", "x"),
]

# Path ids: every shape an id is not (numbers out of range, ObjectId look-alikes, encodings).
IDS = [
    Edge("zero", "0"),
    Edge("negative", "-1"),
    Edge("int32 max + 1", str(2**31)),
    Edge("int64 max + 1", str(2**63)),
    Edge("10**40", str(10**40)),
    Edge("float", "1.5"),
    Edge("exponent", "1e3"),
    Edge("NaN", "NaN"),
    Edge("Infinity", "Infinity"),
    Edge("hex", "0x10"),
    Edge("ObjectId of zeros", "000000000000000000000000"),
    Edge("ObjectId look-alike", "ffffffffffffffffffffffff"),
    Edge("ObjectId too long", "6b071871a22bfa384fe8c53e0"),
    Edge("uuid", "00000000-0000-0000-0000-000000000000"),
    Edge("uuid with braces", "{00000000-0000-0000-0000-000000000000}"),
    Edge("NUL", "%00"),
    Edge("encoded lone surrogate", "%ED%A0%80"),
    Edge("invalid UTF-8", "%FF%FE"),
    Edge("encoded slash", "a%2Fb"),
    Edge("dot dot", "%2E%2E"),
    Edge("blank", "%20"),
    Edge("very long", "9" * 5_000),
    Edge("astral", quote("\U0001f3b5")),
]

# Query values: written into the URL percent-encoded (a lone surrogate as its raw bytes).
QUERY_STRINGS = [
    Edge("NUL", "%00"),
    Edge("encoded lone surrogate", "%ED%A0%80"),
    Edge("invalid UTF-8", "%FF"),
    Edge("very long", "z" * 8_000),
    Edge("empty", ""),
    Edge("control characters", "%01%1B%7F"),
    Edge("NaN", "NaN"),
    Edge("Infinity", "Infinity"),
    Edge("int64 max + 1", str(2**63)),
    Edge("10**40", str(10**40)),
    Edge("-1", "-1"),
    Edge("1e400", "1e400"),
]
QUERY_DATETIMES = [
    Edge(e.label, quote(str(e.value), safe="")) for e in DATETIMES if not isinstance(e.value, Raw)
]


def dumps(value: Any) -> str:
    """JSON text with Raw tokens in place (json.dumps escapes lone surrogates as \\udxxx)."""
    tokens: dict[str, str] = {}

    def swap(node: Any) -> Any:
        if isinstance(node, Raw):
            marker = f"__raw_{len(tokens)}__"
            tokens[marker] = node.token
            return marker
        if isinstance(node, dict):
            return {k: swap(v) for k, v in node.items()}
        if isinstance(node, list):
            return [swap(v) for v in node]
        return node

    text = json.dumps(swap(value))
    for marker, token in tokens.items():
        text = text.replace(f'"{marker}"', token)
    return text


@dataclass(frozen=True)
class Input:
    where: str  # path, query or body
    name: str  # body fields as a dotted path: "bookingDetails.seats"
    kind: str  # datetime, integer, decimal, string, object, id


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return components[ref.split("/")[-1]] if ref else schema


def kind_of(schema: dict[str, Any], components: dict[str, Any]) -> str:
    options = [_resolve(s, components) for s in schema.get("anyOf", [schema])]
    options = [o for o in options if o.get("type") != "null"]
    if any(o.get("format") == "date-time" for o in options):
        return "datetime"
    types = {o.get("type") for o in options}
    if "number" in types:
        return "decimal"
    if "integer" in types:
        return "integer"
    if "object" in types or any("properties" in o for o in options):
        return "object"
    return "string"


def body_inputs(schema: dict[str, Any], components: dict[str, Any], prefix: str = "") -> list[Input]:
    """Every field of a body, one level of nested models included."""
    found = []
    for name, prop in _resolve(schema, components).get("properties", {}).items():
        resolved = _resolve(prop, components)
        if "properties" in resolved and not prefix:
            found += body_inputs(resolved, components, f"{name}.")
        found.append(Input("body", prefix + name, kind_of(prop, components)))
    return found


BODY_EDGES = {
    "datetime": DATETIMES + STRINGS[2:6],
    "integer": INTEGERS,
    "decimal": DECIMALS,
    "string": STRINGS,
    "object": OBJECTS,
}
QUERY_EDGES = {"datetime": QUERY_DATETIMES + QUERY_STRINGS[:3]}


def edges_for(item: Input) -> list[Edge]:
    if item.where == "path":
        return IDS
    if item.where == "query":
        return QUERY_EDGES.get(item.kind, QUERY_STRINGS)
    return BODY_EDGES[item.kind]


def with_value(body: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of the body with the field at `dotted` set to `value` (parents made as needed)."""
    copy = json.loads(json.dumps(body))
    node = copy
    *parents, last = dotted.split(".")
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[last] = value
    return copy


def sample(cases: list[tuple[Input, Edge]], limit: int, seed: str) -> list[tuple[Input, Edge]]:
    """At most `limit` cases (0: all), spread over the inputs: each input's edges shuffled
    with a fixed seed, then taken round-robin, so a short run still touches every input."""
    if limit <= 0 or len(cases) <= limit:
        return cases
    rng = random.Random(seed)
    by_input: dict[Input, list[Edge]] = {}
    for item, edge in cases:
        by_input.setdefault(item, []).append(edge)
    for item, edges in by_input.items():
        # The instants UTC cannot hold (the class this suite was written for) always run.
        keep = 2 if item.kind == "datetime" and item.where == "body" else 0
        rest = edges[keep:]
        rng.shuffle(rest)
        edges[keep:] = rest
    chosen: list[tuple[Input, Edge]] = []
    depth = 0
    while len(chosen) < limit:
        for item, edges in by_input.items():
            if depth < len(edges) and len(chosen) < limit:
                chosen.append((item, edges[depth]))
        depth += 1
    return chosen
