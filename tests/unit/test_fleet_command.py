"""`fleet start|stop|restart`: the console is started and stopped with the seven services or
alone, and `--slow MS` (re)starts the orchestrator with SAGA_STEP_DELAY_MS (without touching
any process: the fleet's actions are recorded)."""

import pytest

from fleetctl import fleet as fleetctl


class Recorder(fleetctl.Fleet):
    calls: list[tuple[str, list[str], dict[str, str]]] = []

    def start(self, names=None, **kwargs) -> None:
        self.calls.append(("start", list(names or []), dict(self.env)))

    def stop(self, names=None, **kwargs) -> None:
        self.calls.append(("stop", list(names or []), dict(self.env)))

    def status(self, **kwargs):
        return []


@pytest.fixture
def recorded(monkeypatch):
    Recorder.calls = []
    monkeypatch.setattr(fleetctl, "Fleet", Recorder)
    return Recorder.calls


ALL = [s.package for s in fleetctl.SERVICES] + ["console"]


def test_start_and_stop_take_the_console_with_the_seven_or_alone(recorded):
    assert fleetctl.main(["start"]) == 0
    assert fleetctl.main(["stop", "console"]) == 0
    assert fleetctl.main(["start", "console"]) == 0
    assert [(action, names) for action, names, _ in recorded] == [
        ("start", ALL),
        ("stop", ["console"]),
        ("start", ["console"]),
    ]
    assert fleetctl.BY_NAME["console"].port == 8090


def test_slow_restarts_the_orchestrator_with_the_step_delay(recorded):
    assert fleetctl.main(["start", "--slow", "1500"]) == 0
    assert recorded[0][:2] == ("stop", ["saga_orchestrator"])
    assert recorded[1][:2] == ("start", ALL)
    assert all(env["SAGA_STEP_DELAY_MS"] == "1500" for _, _, env in recorded)
    recorded.clear()
    assert fleetctl.main(["restart", "saga_orchestrator", "--slow", "0"]) == 0
    assert [(a, n, e["SAGA_STEP_DELAY_MS"]) for a, n, e in recorded] == [
        ("stop", ["saga_orchestrator"], "0"),
        ("start", ["saga_orchestrator"], "0"),
    ]


def test_the_console_is_told_where_every_source_is():
    env = fleetctl.Fleet(port_offset=1000).service_env()
    assert env["CONSOLE_PORT"] == "9090"
    assert env["CONSOLE_SAGA_URL"] == "http://127.0.0.1:4002"
    assert env["CONSOLE_EVENT_SERVICE_URL"] == "http://127.0.0.1:9080"
    assert env["CONSOLE_ANALYTICS_SERVICE_URL"] == "http://127.0.0.1:9081"
    assert env["CONSOLE_EVENT_STORE_URL"] == "http://127.0.0.1:4001"
