"""The version a conditional write expects (optimistic concurrency), read once for every
service: the body's `version` or the `If-Match` header, which must agree when both are given."""

from typing import Annotated

from fastapi import Header

from shared.errors import BadRequest, field_error

# Versions are PostgreSQL integers in the SQL services; no store holds a larger one.
MAX_VERSION = 2**31 - 1

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=64,
        description='the version last read (its ETag), e.g. "3"; a stale one is a 409',
    ),
]


def parse_if_match(value: str) -> int | None:
    """`"3"`, `W/"3"` or `3` -> 3; anything else (not a version from 1 to MAX_VERSION) -> None."""
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or not 1 <= int(text) <= MAX_VERSION:
        return None
    return int(text)


def expected_version(in_body: int | None, if_match: str | None) -> int | None:
    """The version the write expects, or None (the write applies to the current version).
    400 naming If-Match when the header is no version, or `version` when the two disagree."""
    from_header = None
    if if_match is not None:
        from_header = parse_if_match(if_match)
        if from_header is None:
            raise BadRequest(
                'If-Match must carry the version last read, e.g. If-Match: "3".',
                errors=[field_error("If-Match", f"expected a version from 1 to {MAX_VERSION}")],
            )
    if in_body is not None and from_header is not None and in_body != from_header:
        raise BadRequest(
            "version and If-Match disagree.", errors=[field_error("version", "differs from If-Match")]
        )
    return in_body if in_body is not None else from_header
