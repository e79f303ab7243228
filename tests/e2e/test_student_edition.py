"""The student edition (scripts/student-edition.sh) and the grader (scripts/grade.sh): every
exercise's solution is marked once, inside a function body; the generated copy still imports
and starts its seven services, each of the seventeen exercises fails there first on its own
TODO's NotImplementedError (never on an import error, nor on another exercise's TODO), the
unit tests of the modules holding a TODO fail there only on a TODO, and the grader passes an
exercise the solution solves. The exercise and unit folders themselves run once, in their own
folders: here only what the edition changes is run again. This file is left out of the
edition it checks."""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fleetctl.fleet import PACKAGES as SERVICES
from tests.exercises.catalog import EXERCISES

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import student_edition  # noqa: E402


def run(cwd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**os.environ}
    )


def test_each_exercise_is_marked_once_inside_a_function_body():
    files = student_edition.project_files(ROOT)
    regions = [r for found in student_edition.all_regions(ROOT, files).values() for r in found]
    assert sorted(r.exercise.id for r in regions) == sorted(e.id for e in EXERCISES)
    for r in regions:
        assert r.end - r.begin >= 2, f"{r.exercise.id}: an empty region at {r.path}:{r.begin}"


def test_markers_that_do_not_pair_are_refused():
    with pytest.raises(student_edition.MarkerError, match="without its begin"):
        student_edition.find_regions("x.py", ["def f():\n", "    # exercise DB1: end\n"])
    with pytest.raises(student_edition.MarkerError, match="has no end"):
        student_edition.find_regions("x.py", ["def f():\n", "    # exercise DB1: begin\n", "    pass\n"])
    with pytest.raises(student_edition.MarkerError, match="inside a function body"):
        student_edition.find_regions("x.py", ["# exercise DB1: begin\n", "x = 1\n", "# exercise DB1: end\n"])
    with pytest.raises(student_edition.MarkerError, match="unknown exercise"):
        student_edition.find_regions("x.py", ["def f():\n", "    # exercise DB9: begin\n"])


def test_a_marked_region_becomes_a_todo_raising_not_implemented():
    lines = [
        "def margin(capacity):\n",
        '    """doc"""\n',
        "    # exercise DB1: begin\n",
        "    return (capacity * 5 + 99) // 100\n",
        "    # exercise DB1: end\n",
    ]
    region = student_edition.find_regions("x.py", lines)
    out = "".join(student_edition.student_version(lines, region))
    assert "(capacity * 5 + 99)" not in out and "exercise DB1" not in out
    assert "    # TODO DB1: " in out
    namespace: dict[str, object] = {}
    exec(compile(out, "x.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match=r"^DB1: check a booking"):
        namespace["margin"](100)  # type: ignore[operator]


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("edition") / "tp4-student"
    made = run(ROOT, "scripts/student-edition.sh", str(target))
    assert made.returncode == 0, made.stderr
    assert "17 exercises left as TODO" in made.stdout
    # The solution's environment, so the copy needs no install of its own: its commands run
    # `python -m`, so the copy's packages come first on the path.
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target


def test_the_edition_leaves_no_solution_and_still_imports_its_services(edition: Path):
    assert not (edition / "scripts" / "student_edition.py").exists()
    assert not (edition / "tests" / "e2e" / "test_student_edition.py").exists()
    assert (edition / "STUDENT-EDITION.md").read_text().count("| `tests/exercises/test_") == 17
    sources = "".join(p.read_text() for p in edition.rglob("*.py") if ".venv" not in p.parts)
    regions = student_edition.all_regions(ROOT, student_edition.project_files(ROOT))
    for path, found in regions.items():
        todo = (edition / path).read_text()
        for region in found:
            # Its solution gone, in its place a TODO that raises naming the exercise.
            assert f"# exercise {region.exercise.id}:" not in sources
            assert todo.count(f'raise NotImplementedError("{region.exercise.id}: ') == 1, (path, region)
    probe = "import importlib, sys; [importlib.import_module(s + '.app') for s in sys.argv[1:]]; " + (
        "import event_service.domain as d; print(d.__file__)"
    )
    imported = run(edition, str(ROOT / ".venv/bin/python"), "-c", probe, *SERVICES, timeout=120)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == str(edition / "event_service" / "domain.py")


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
def test_the_editions_seven_services_start_and_are_ready(edition: Path):
    started = run(edition, str(ROOT / ".venv/bin/python"), "-c", FLEET_PROBE % (SERVICES,), timeout=400)
    assert started.returncode == 0, started.stderr[-3000:]
    assert started.stdout.strip().splitlines()[-1] == "7"


# Two exercises whose TODOs are reached in the two ways a test can meet one: DB1's in the
# request's own path, POLY5's in the projection's background consumer, behind the test's back
# (tests/exercises/conftest.py turns that into the test's failure). That every exercise has its
# TODO is read from the edition's source above; every exercise's tests run in tests/exercises.
ON_THE_PATH, IN_THE_BACKGROUND = "DB1", "POLY5"


@pytest.mark.timeout(600)
def test_the_edition_fails_an_exercise_on_its_own_todo(edition: Path):
    chosen = {ON_THE_PATH, IN_THE_BACKGROUND}
    modules = [e.test.removesuffix(".py") for e in EXERCISES if e.id in chosen]
    graded = run(edition, "scripts/grade.sh", "--json", "--", "-k", " or ".join(modules), timeout=500)
    assert graded.returncode == 1, graded.stderr[-3000:]
    report = json.loads(graded.stdout)
    assert (report["total"], report["passed"], report["points"]) == (17, 0, 0)
    for row in report["exercises"]:
        first = row["firstFailure"] or ""
        if row["id"] not in chosen:
            assert first == "no test of this exercise ran", row
            continue
        assert row["failedTests"] and row["hint"], row
        # Its own TODO: never an import error, another failure, or another exercise's TODO.
        assert first.startswith(f"NotImplementedError: {row['id']}: "), (row["id"], first)
        assert (row["reachedTodo"], row["todo"]) == (row["id"], True), row


def unit_tests_of_the_todos(root: Path) -> list[str]:
    """The unit test files that import a module holding an exercise (in the edition, its TODO):
    the only unit tests the edition can change."""
    regions = student_edition.all_regions(root, student_edition.project_files(root))
    modules = {path.removesuffix(".py").replace("/", ".") for path in map(str, regions)}
    imports = {f for m in modules for f in (m, "from {} import {}".format(*m.rsplit(".", 1)))}
    return sorted(
        str(test.relative_to(root))
        for test in (root / "tests" / "unit").glob("test_*.py")
        if any(form in test.read_text() for form in imports)
    )


@pytest.mark.timeout(900)
def test_the_editions_unit_tests_fail_only_on_a_todo(edition: Path):
    chosen = unit_tests_of_the_todos(ROOT)
    assert "tests/unit/test_event_domain.py" in chosen, chosen
    report = edition / "unit.xml"
    run(
        edition,
        str(ROOT / ".venv/bin/python"),
        "-m",
        "pytest",
        *chosen,
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={report}",
    )
    cases = list(ET.parse(report).getroot().iter("testcase"))
    failures = [c.find("failure") or c.find("error") for c in cases]
    failed = [f for f in failures if f is not None]
    assert len(cases) - len(failed) > 50, (len(cases), len(failed))
    for failure in failed:
        assert (failure.get("message") or "").startswith("NotImplementedError: "), failure.get("message")


@pytest.mark.timeout(900)
def test_the_grader_passes_an_exercise_the_solution_solves():
    # One exercise (tests/exercises runs them all): the others did not run, so they fail.
    graded = run(ROOT, "scripts/grade.sh", "--json", "--", "-k", "test_db1_safety_margin")
    assert graded.returncode == 1, graded.stdout[-3000:] + graded.stderr[-3000:]
    report = json.loads(graded.stdout)
    assert (report["total"], report["passed"], report["failed"]) == (17, 1, 16)
    rows = {row["id"]: row for row in report["exercises"]}
    assert rows["DB1"]["passed"] and rows["DB1"]["firstFailure"] is None and rows["DB1"]["tests"] > 0
    assert (report["points"], rows["DB1"]["points"]) == (rows["DB1"]["maxPoints"],) * 2
    assert all(r["firstFailure"] == "no test of this exercise ran" for i, r in rows.items() if i != "DB1")
