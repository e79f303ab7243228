"""Every shell block of README.md, docs/*.md and docs/fr/*.md works as typed (tests/docs/runner.py
says which blocks run and how they are marked; docs/contributing.md how to run this).

Two run tests, on two pytest-xdist workers side by side: the pages that drive the fleet on the
default ports themselves (`runner.needs_default_fleet`) run on the fleet started there; the
pages that only talk to the services by URL run on a fleet of their own (runner.Target). Each
runs its pages twice in a row (an example that works only once per fleet fails the second
pass), then asks `fleet check` whether its fleet's services still agree, and stops its fleet.
"""

import os
import socket
import subprocess
from pathlib import Path

import pytest

from fleetctl.fleet import EVERYTHING, ROOT, Fleet
from fleetctl.story import PACKAGES, URL_ENV
from fleetctl.tokens import ensure_tokens, read_tokens
from tests.docs import runner
from tests.support import isolated_fleet

ALL_BLOCKS = [block for page in runner.pages() for block in runner.parse(page)]
DEFAULT_FLEET_PAGES = [page for page in runner.pages() if runner.needs_default_fleet(page)]
OWN_FLEET_PAGES = [page for page in runner.pages() if not runner.needs_default_fleet(page)]


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=lambda b: b.where)
def test_block_is_typeable(block):
    """Checked for every block, run or skipped: a language on each fence, known markers with
    their reasons, no `fleet`/`python` a new user's shell does not have, no HTTPie shorthand."""
    assert runner.problems(block) == []


def test_every_page_has_its_blocks_found():
    """The parser sees the blocks the pages have (a fence it missed would never run)."""
    pages = {b.page.name for b in ALL_BLOCKS if b.runnable and b.marker != "skip"}
    assert {"README.md", "scenarios.md", "labs.md", "handout.md", "saga.md"} <= pages
    fences = sum(
        1 for p in runner.pages() for line in p.read_text().splitlines() if line.lstrip().startswith("```")
    )
    assert fences == 2 * len(ALL_BLOCKS)


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _checkout_tokens() -> dict[str, str]:
    """The docs load `.data/tokens.env` from the checkout. When the engines' data folder is
    elsewhere (TP4_DATA_DIR, as for a second worktree), the fleet's tokens are there: the
    checkout's file is made a link to it, so the pages and the fleet hold the same tokens."""
    shared = ensure_tokens()
    local = ROOT / ".data" / "tokens.env"
    if local.resolve() != shared.resolve():
        if local.exists() and read_tokens(local) != read_tokens(shared):
            pytest.fail(f"{local} and {shared} hold different tokens: remove {local}")
        if not local.exists():
            local.parent.mkdir(parents=True, exist_ok=True)
            local.symlink_to(shared)
    return read_tokens(local)


@pytest.fixture(scope="module")
def default_fleet():
    if os.environ.get("DOC_TEST_REUSE_FLEET") == "1":
        yield None  # a fleet already running on the default ports, left running
        return
    taken = [s.port for s in EVERYTHING if _port_taken(s.port)]
    if taken:
        pytest.skip(
            f"the default ports {taken} are taken (a dev fleet?): stop it, or run with "
            "DOC_TEST_REUSE_FLEET=1 to run the docs against it"
        )
    # The session's own tokens are in this process's environment (tests/conftest.py): the
    # fleet gets the checkout's, the ones the pages load.
    # As the README starts it: tracing on (the suite turns it off for its other fleets).
    fleet = Fleet(env={**_checkout_tokens(), "TRACING_ENABLED": "true"})
    try:
        fleet.start(quiet=True, wait=120)
        yield fleet
    finally:
        Fleet().stop()


@pytest.fixture(scope="module")
def own_fleet():
    """A fleet on free ports with databases of its own, holding the checkout's tokens (the
    pages load `.data/tokens.env`)."""
    fleet = isolated_fleet()
    fleet.env.update({**_checkout_tokens(), "TRACING_ENABLED": "true"})
    try:
        fleet.start(quiet=True, wait=120)
        # EVENT_URL, ..., SAGA_URL: where `fleet seed|demo|check|resume` find the services.
        urls = {env: fleet.url(PACKAGES[name]) for name, (env, _) in URL_ENV.items()}
        target = runner.Target(
            fleet.port_offset, {**urls, "AMQP_QUEUE_PREFIX": fleet.env["AMQP_QUEUE_PREFIX"]}
        )
        # The fleet the pages assume, as the README's first commands leave the default one
        # (start, then `fleet seed`): some bookings made (docs/event-store.md reads PAYMENT-1).
        seed = subprocess.run(
            [str(Path(ROOT) / ".venv/bin/fleet"), "seed"],
            cwd=ROOT,
            env={**os.environ, **target.env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert seed.returncode == 0, seed.stdout + seed.stderr
        yield target
    finally:
        fleet.discard()


def _run_twice_then_check(pages: list[Path], target: runner.Target) -> None:
    _checkout_tokens()
    failed = []
    for round_ in (1, 2):
        for page in pages:
            result = runner.run_page(page, target=target)
            print(f"[pass {round_}] {result.report()}", flush=True)  # progress with -s; kept on failure
            if not result.ok:
                failed.append(f"[pass {round_}] {result.report()}")
    assert not failed, "\n\n".join(failed)
    check = subprocess.run(
        [str(Path(ROOT) / ".venv/bin/fleet"), "check"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k not in ("SERVICE_TOKEN", "OPERATOR_TOKEN")},
            **target.env,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.serial_ports
@pytest.mark.xdist_group("serial_ports")
# Two passes take ~6 min on an idle 2-core machine, ~20 when six test runs share it.
@pytest.mark.timeout(2700)
def test_docs_run_as_typed_twice(default_fleet):
    _run_twice_then_check(DEFAULT_FLEET_PAGES, runner.Target())


# Its own group: a worker beside the default fleet's.
@pytest.mark.xdist_group("docs_own_fleet")
@pytest.mark.timeout(1800)
def test_docs_that_talk_by_url_run_twice_on_a_fleet_of_their_own(own_fleet):
    _run_twice_then_check(OWN_FLEET_PAGES, own_fleet)


def test_the_pages_are_shared_between_the_two_run_tests():
    """Every page runs in one run test exactly, and each run test has pages (a rule that sent
    every page to one side would make the split pointless, or hide a page)."""
    assert sorted(DEFAULT_FLEET_PAGES + OWN_FLEET_PAGES) == sorted(runner.pages())
    assert DEFAULT_FLEET_PAGES and OWN_FLEET_PAGES
    by_name = {p.relative_to(ROOT).as_posix() for p in OWN_FLEET_PAGES}
    # Pages that drive the fleet by its pid files, scripts or ports stay on the default one.
    assert not by_name & {"README.md", "docs/labs.md", "docs/saga.md", "docs/troubleshooting.md"}
    assert {"docs/scenarios.md", "docs/event-service.md"} <= by_name


def _page(tmp_path: Path, script: str) -> Path:
    page = tmp_path / "page.md"
    page.write_text(f"# a page\n\n```bash\n{script}\n```\n")
    return page


@pytest.mark.parametrize(
    ("script", "default"),
    [
        ("curl -s http://127.0.0.1:8080/api/events | tee /tmp/events.json", False),
        ("set -a; . .data/tokens.env; set +a\n.venv/bin/fleet seed\n.venv/bin/fleet check", False),
        ("curl -d '{\"ticketPrice\":5000}' http://127.0.0.1:3002/api/saga/booking", False),
        (".venv/bin/fleet restart payment_service", True),
        ("kill -9 $(cat .data/run/saga_orchestrator.pid)", True),
        ("scripts/infra.sh psql events -c 'select 1'", True),
        ("SAGA_PORT=3012 .venv/bin/python -m saga_orchestrator &", True),
        ("curl http://127.0.0.1:$((3001 + 10))/ready", True),
        ("curl -s 'http://127.0.0.1:9200/_cluster/health'", True),
        ("curl -s http://127.0.0.1:3012/ready", True),
    ],
)
def test_a_page_that_drives_the_fleet_itself_needs_the_default_one(tmp_path, script, default):
    assert runner.needs_default_fleet(_page(tmp_path, script)) is default


def test_a_fleet_of_its_own_gets_its_ports_and_a_tmp_folder_of_its_own(tmp_path):
    text = "curl -s http://127.0.0.1:8080/x -o /tmp/a.json; curl localhost:5001/y; curl 127.0.0.1:9200/z"
    own = runner.Target(port_offset=12345, env={})
    assert own.retype(text, tmp_path) == (
        f"curl -s http://127.0.0.1:20425/x -o {tmp_path}/a.json; "
        "curl localhost:17346/y; curl 127.0.0.1:9200/z"
    )
    assert runner.Target().retype(text, tmp_path) == text  # the default fleet: as typed
