"""The booking story of fleetctl/story.py (the one `fleet demo` tells) against the seven
services as processes: every step must hold, a happy booking and a declined one."""

import pytest

from fleetctl.demo import seed
from fleetctl.story import Story, Urls
from tests.support import IsolatedFleet


@pytest.fixture(scope="module")
def urls(default_fleet: IsolatedFleet) -> Urls:
    return Urls.of(default_fleet.url)


def tell(story: Story, steps) -> None:
    try:
        for name, action in steps:
            result = story.run_step(name, action)
            assert result.ok, f"step '{name}' failed: {result.detail}"
    finally:
        story.close()


def test_a_booking_completes_and_every_read_model_follows(urls):
    story = Story(urls, deadline_s=45)
    tell(story, story.happy_steps())


def test_a_booking_then_cancelled_releases_refunds_and_every_read_model_follows(urls):
    story = Story(urls, deadline_s=45)
    tell(story, story.happy_steps() + story.cancellation_steps())


def test_a_declined_booking_is_compensated_and_gives_its_seats_back(urls):
    story = Story(urls, deadline_s=45)
    tell(story, story.declined_steps())


def test_fleet_seed_books_demo_events_and_a_second_run_adds_nothing(urls, capsys):
    assert seed(urls) == 0
    first = capsys.readouterr().out
    assert "COMPENSATED" in first and "unexpected" in first
    assert "(0 unexpected outcomes)" in first
    assert seed(urls) == 0
    assert "already there" in capsys.readouterr().out
