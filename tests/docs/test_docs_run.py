"""Every shell block of README.md, docs/*.md and docs/fr/*.md works as typed (tests/docs/runner.py
says which blocks run and how they are marked; docs/contributing.md how to run this).

The run test starts the fleet on the default ports (the docs' URLs), runs every page twice in
a row (an example that works only once per fleet fails the second pass), then asks
`fleet check` whether the services still agree, and stops the fleet.
"""

import os
import socket
import subprocess
from pathlib import Path

import pytest

from fleetctl.fleet import EVERYTHING, ROOT, Fleet
from fleetctl.tokens import ensure_tokens, read_tokens
from tests.docs import runner

ALL_BLOCKS = [block for page in runner.pages() for block in runner.parse(page)]


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
    fleet = Fleet(env=_checkout_tokens())
    try:
        fleet.start(quiet=True, wait=120)
        yield fleet
    finally:
        Fleet().stop()


@pytest.mark.serial_ports
@pytest.mark.xdist_group("serial_ports")
# Two passes take ~6 min on an idle 2-core machine, ~20 when six test runs share it.
@pytest.mark.timeout(2700)
def test_docs_run_as_typed_twice(default_fleet):
    _checkout_tokens()
    failed = []
    for round_ in (1, 2):
        for page in runner.pages():
            result = runner.run_page(page)
            print(f"[pass {round_}] {result.report()}", flush=True)  # progress with -s; kept on failure
            if not result.ok:
                failed.append(f"[pass {round_}] {result.report()}")
    assert not failed, "\n\n".join(failed)
    check = subprocess.run(
        [str(Path(ROOT) / ".venv/bin/fleet"), "check"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in ("SERVICE_TOKEN", "OPERATOR_TOKEN")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stdout + check.stderr
