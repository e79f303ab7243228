"""TEACHING_FAULTS: parsed once with the settings, an unknown name refused at start, each fault
said loudly (log, /health, /ready)."""

import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from shared import faults
from shared.faults import Fault, UnknownFault, parse
from shared.settings import ServiceSettings
from shared.web import create_service_app
from tests.support import ROOT, running


def test_names_are_comma_separated_trimmed_and_deduplicated():
    assert parse("") == ()
    assert parse(" lost-update , STALE-CACHE,lost-update,") == (Fault.LOST_UPDATE, Fault.STALE_CACHE)


def test_an_unknown_name_is_refused_naming_it_and_the_known_ones():
    with pytest.raises(UnknownFault, match=r"'lost-updates'.*known: lost-update"):
        parse("lost-updates")


def test_the_fleet_wide_variable_is_read_without_a_service_prefix(monkeypatch):
    monkeypatch.setenv("TEACHING_FAULTS", "no-idempotency")
    assert ServiceSettings().teaching_faults == (Fault.NO_IDEMPOTENCY,)
    monkeypatch.setenv("TEACHING_FAULTS", "typo")
    with pytest.raises(ValidationError, match="unknown teaching fault 'typo'"):
        ServiceSettings()


def test_a_service_with_an_unknown_fault_stops_at_start_with_the_reason():
    env = {**os.environ, "TEACHING_FAULTS": "no-idempotency,typo", "PAYMENT_PORT": "1"}
    command = [sys.executable, "-m", "payment_service"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "unknown teaching fault 'typo'" in done.stderr


def _app(settings: ServiceSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield

    return create_service_app(settings, title="probe", description="probe", lifespan=lifespan, routers=[])


async def test_a_fault_is_logged_at_start_and_carried_by_health_and_ready(caplog):
    settings = ServiceSettings(service_name="fault-probe", json_logs=False, teaching_faults="stale-cache")
    try:
        with caplog.at_level(logging.WARNING, logger="shared.faults"):
            app = _app(settings)
        assert faults.on(Fault.STALE_CACHE) and not faults.on(Fault.LOST_UPDATE)
        assert "TEACHING FAULT stale-cache IS ON in fault-probe" in caplog.text
        async with running(app) as client:
            assert (await client.get("/health")).json()["teachingFaults"] == ["stale-cache"]
            assert (await client.get("/ready")).json()["teachingFaults"] == ["stale-cache"]
    finally:
        faults.activate((), "fault-probe")


async def test_without_faults_health_says_so_with_an_empty_list():
    async with running(_app(ServiceSettings(service_name="plain", json_logs=False))) as client:
        assert (await client.get("/health")).json()["teachingFaults"] == []
    assert not any(faults.on(f) for f in Fault)
