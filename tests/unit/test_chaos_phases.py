"""The chaos tests that break a shared engine run alone (marked `serial` by
tests/chaos/conftest.py); the others run beside the rest of the suite. A chaos module that
starts breaking an engine must be named there, or it would restart an engine under other tests."""

import re
from pathlib import Path

from tests.chaos.conftest import ENGINE_BREAKERS

CHAOS = Path(__file__).resolve().parents[1] / "chaos"
# What stops or restarts an engine: tests/chaos/tools.py's helpers, scripts/infra.sh, a nemesis run.
BREAKS_AN_ENGINE = re.compile(r"engine_down\(|rabbitmq_app_stopped\(|\binfra\(|infra\.sh|\bnemesis\b")


def test_every_chaos_module_that_breaks_a_shared_engine_runs_alone():
    breakers = {p.name for p in CHAOS.glob("test_*.py") if BREAKS_AN_ENGINE.search(p.read_text())}
    assert breakers == set(ENGINE_BREAKERS)
