"""The labs run in a student edition once its exercises are written: an edition with every
solution pasted back lists the seven labs, and two of them (lost-update, whose switch sat in
DB2's region once, and stale-cache, beside POLY3's) show their invariant broken with the
fault and holding without it. Left out of the edition (it makes one)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import student_edition  # noqa: E402


def run(cwd: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**os.environ}
    )


@pytest.fixture(scope="module")
def completed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("edition") / "tp4-student"
    made = run(ROOT, "scripts/student-edition.sh", str(target))
    assert made.returncode == 0, made.stderr
    # The student's work: each file that had a TODO gets its exercise written (the solution).
    regions = student_edition.all_regions(ROOT, student_edition.project_files(ROOT))
    for name in regions:
        assert "NotImplementedError" in (target / name).read_text(encoding="utf-8")
        (target / name).write_text((ROOT / name).read_text(encoding="utf-8"), encoding="utf-8")
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target


def test_the_completed_edition_lists_the_labs(completed: Path):
    listed = run(completed, str(ROOT / ".venv/bin/python"), "-m", "fleetctl.fleet", "lab", "--list")
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    assert {"lost-update", "stale-cache", "no-compensation", "no-event-store-occ"} <= set(names)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("lab", ["lost-update", "stale-cache"])
def test_a_lab_runs_in_the_completed_edition(completed: Path, lab: str):
    ran = run(completed, str(ROOT / ".venv/bin/python"), "-m", "fleetctl.fleet", "lab", lab)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
