"""Records kept under an Idempotency-Key: JSON with camelCase names, read back as the same
record, and an answer of the same fields (kept before records were) read alike."""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from shared.results import record_from_json, record_to_json


class Colour(StrEnum):
    RED = "red"


@dataclass(frozen=True)
class Sample:
    id: int
    unit_price: Decimal
    colour: Colour
    created_at: datetime
    note: str | None


SAMPLE = Sample(7, Decimal("15000.50"), Colour.RED, datetime(2031, 6, 21, 20, 0, tzinfo=UTC), None)


def test_a_record_is_kept_as_camel_case_json_without_floats():
    assert record_to_json(SAMPLE) == {
        "id": 7,
        "unitPrice": "15000.50",
        "colour": "red",
        "createdAt": "2031-06-21T20:00:00+00:00",
        "note": None,
    }


def test_a_kept_record_reads_back_equal():
    assert record_from_json(Sample, record_to_json(SAMPLE)) == SAMPLE


def test_an_answer_of_the_same_fields_reads_as_the_record():
    answer = {
        "id": 7,
        "unitPrice": 15000.5,
        "colour": "red",
        "createdAt": "2031-06-21T20:00:00Z",
        "note": None,
        "extra": "ignored",
    }
    assert record_from_json(Sample, answer) == SAMPLE
