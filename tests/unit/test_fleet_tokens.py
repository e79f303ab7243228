"""`fleet tokens` makes the two caller-class tokens once into the data folder (owner-only),
keeps them afterwards, and `fleet start` hands them to the services; the environment wins."""

import stat

import pytest

from fleetctl.fleet import Fleet
from fleetctl.tokens import ensure_tokens, read_tokens


def test_tokens_are_made_once_owner_only_and_handed_to_the_services(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TP4_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SERVICE_TOKEN", raising=False)
    monkeypatch.delenv("OPERATOR_TOKEN", raising=False)
    path = ensure_tokens()
    assert path == tmp_path / "tokens.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    tokens = read_tokens()
    assert set(tokens) == {"SERVICE_TOKEN", "OPERATOR_TOKEN"}
    assert tokens["SERVICE_TOKEN"] != tokens["OPERATOR_TOKEN"]
    assert all(len(value) >= 40 for value in tokens.values())
    ensure_tokens()
    assert read_tokens() == tokens, "made once, then kept"
    env = Fleet().service_env()
    assert (env["SERVICE_TOKEN"], env["OPERATOR_TOKEN"]) == (
        tokens["SERVICE_TOKEN"],
        tokens["OPERATOR_TOKEN"],
    )
    monkeypatch.setenv("SERVICE_TOKEN", "from-the-environment")
    assert Fleet().service_env()["SERVICE_TOKEN"] == "from-the-environment"


def test_no_tokens_file_reads_as_none(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TP4_DATA_DIR", str(tmp_path / "absent"))
    assert read_tokens() == {}
