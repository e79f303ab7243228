"""The level-2 student edition (scripts/student-edition.sh --level 2): whole pieces of each
pattern removed, yet the copy still imports and starts its seven services; scripts/grade.sh
knows its level, gives level 2's hints and zero points, each graded exercise failing on its
own TODO and naming its failed tests. One edition is built for the module. Left out of the
edition it checks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fleetctl.fleet import PACKAGES as SERVICES
from tests.exercises.catalog import BY_ID, EXERCISES

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import student_edition  # noqa: E402


def run(cwd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**os.environ}
    )


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("edition") / "tp4-student-level2"
    made = run(ROOT, "scripts/student-edition.sh", "--level", "2", str(target))
    assert made.returncode == 0, made.stderr
    assert "student edition (level 2)" in made.stdout and "17 exercises left as TODO" in made.stdout
    removed = student_edition.sizes(ROOT)
    totals = [sum(removed[level].values()) for level in (1, 2)]
    assert f"lines removed: level 1 {totals[0]}, level 2 {totals[1]}" in made.stdout
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target


def test_the_level_2_edition_has_every_piece_as_a_todo_and_imports(edition: Path):
    assert (edition / student_edition.LEVEL_FILE).read_text().strip() == "2"
    guide = (edition / "STUDENT-EDITION.md").read_text()
    assert "(level 2)" in guide and guide.count("| `tests/exercises/test_") == 17
    sources = {p: p.read_text() for p in edition.rglob("*.py") if ".venv" not in p.parts}
    assert not [p for p, text in sources.items() if ", level 2: " in text and "# exercise" in text]
    regions = student_edition.all_regions(ROOT, student_edition.project_files(ROOT), level=2)
    for path, found in regions.items():
        text = (edition / path).read_text()
        for exercise in {r.exercise.id for r in found}:
            expected = sum(r.exercise.id == exercise for r in found)
            assert text.count(f'raise NotImplementedError("{exercise}: ') == expected, (path, exercise)
            assert f"# TODO {exercise} (level 2): " in text and f"# À FAIRE {exercise} : " in text
    probe = "import importlib, sys; [importlib.import_module(s + '.app') for s in sys.argv[1:]]"
    imported = run(edition, str(ROOT / ".venv/bin/python"), "-c", probe, *SERVICES, timeout=120)
    assert imported.returncode == 0, imported.stderr


FLEET_PROBE = """
import httpx
from tests.support import isolated_fleet
fleet = isolated_fleet()
try:
    fleet.start(wait=120, quiet=True)
    print(sum(httpx.get(fleet.url(s) + "/ready", timeout=5).status_code == 200 for s in %r))
finally:
    fleet.discard()
"""


@pytest.mark.timeout(600)
def test_the_level_2_editions_seven_services_start_and_are_ready(edition: Path):
    started = run(edition, str(ROOT / ".venv/bin/python"), "-c", FLEET_PROBE % (SERVICES,), timeout=400)
    assert started.returncode == 0, started.stderr[-3000:]
    assert started.stdout.strip().splitlines()[-1] == "7"


# DB2 (PostgreSQL: the repository's write and the retry loop) and ES3 (the event store's
# append): at level 2 each first fails on its own TODO.
CHOSEN = ("DB2", "ES3")


@pytest.mark.timeout(600)
def test_the_grader_knows_the_level_and_gives_zero_with_level_2_hints(edition: Path):
    modules = [BY_ID[i].test.removesuffix(".py") for i in CHOSEN]
    graded = run(
        edition, "scripts/grade.sh", "--json", "--lang", "fr", "--", "-k", " or ".join(modules), timeout=500
    )
    assert graded.returncode == 1, graded.stderr[-3000:]
    report = json.loads(graded.stdout)
    assert (report["level"], report["total"], report["passed"], report["points"]) == (2, 17, 0, 0)
    assert report["maxPoints"] == sum(e.points for e in EXERCISES)
    for row in report["exercises"]:
        exercise = BY_ID[row["id"]]
        assert row["hint"] == exercise.hint("fr", 2) != exercise.hint("fr", 1), row["id"]
        assert row["difficulty"] == exercise.difficulty_at(2)
        if row["id"] not in CHOSEN:
            continue
        assert row["failedTests"], row
        assert (row["firstFailure"] or "").startswith(f"NotImplementedError: {row['id']}: "), row
        assert (row["reachedTodo"], row["todo"]) == (row["id"], True), row
