"""The seven services start as processes against the real engines and all report ready."""

import httpx
import pytest

from fleetctl.fleet import SERVICES
from tests.support import IsolatedFleet


@pytest.fixture(scope="module")
def fleet(default_fleet: IsolatedFleet) -> IsolatedFleet:
    return default_fleet


def test_every_service_is_ready_against_its_real_engines(fleet):
    for service in SERVICES:
        answer = httpx.get(f"{fleet.url(service.package)}/ready", timeout=5)
        assert answer.status_code == 200, (service.package, answer.text)
        body = answer.json()
        assert body["status"] == "ready"
        assert all(state == "up" for state in body["checks"].values()), body


def test_every_service_serves_health_docs_and_metrics(fleet):
    for service in SERVICES:
        base = fleet.url(service.package)
        assert httpx.get(f"{base}/health", timeout=5).json()["status"] == "ok"
        assert httpx.get(f"{base}/docs", timeout=5).status_code == 200
        metrics = httpx.get(f"{base}/metrics", timeout=5)
        assert metrics.status_code == 200
        assert "http_requests_total" in metrics.text
