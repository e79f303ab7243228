"""If-Match and `version`, read once for every service (shared/versions.py)."""

import pytest

from shared.errors import BadRequest
from shared.versions import MAX_VERSION, expected_version, parse_if_match


def test_if_match_forms():
    assert parse_if_match('"3"') == 3
    assert parse_if_match('W/"4"') == 4
    assert parse_if_match(" 5 ") == 5
    assert parse_if_match(f'"{MAX_VERSION}"') == MAX_VERSION
    for bad in ("abc", '"0"', '"-1"', f'"{MAX_VERSION + 1}"', '"1.5"', "*", ""):
        assert parse_if_match(bad) is None, bad


def test_the_expected_version_comes_from_the_body_or_the_header():
    assert expected_version(None, None) is None
    assert expected_version(4, None) == 4
    assert expected_version(None, '"4"') == 4
    assert expected_version(4, 'W/"4"') == 4


@pytest.mark.parametrize(
    ("in_body", "if_match", "field"),
    [(None, "soon", "If-Match"), (None, f'"{MAX_VERSION + 1}"', "If-Match"), (3, '"4"', "version")],
)
def test_a_header_that_is_no_version_or_disagrees_is_a_400_naming_the_field(in_body, if_match, field):
    with pytest.raises(BadRequest) as raised:
        expected_version(in_body, if_match)
    assert raised.value.status == 400
    assert [e["field"] for e in raised.value.errors] == [field]
