"""The clock of the services' use cases (domain code never reads it: time comes in as an
argument)."""

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_ms(moment: datetime) -> datetime:
    """`moment` in UTC, trimmed to the millisecond as BSON stores dates: what a MongoDB service
    answers right after a write then equals what it reads back later."""
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def utc_now_ms() -> datetime:
    return to_ms(utc_now())
