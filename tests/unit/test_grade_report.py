"""The grader's reading of a pytest junit report (scripts/grade.py): one row per exercise, the
first failing assertion, a total and its exit status; and the exercise catalog against the
test files it grades."""

import json
import subprocess
import sys
from pathlib import Path

from tests.exercises.catalog import EXERCISES, HERE

ROOT = Path(__file__).resolve().parents[2]


def junit(*cases: str) -> str:
    body = "".join(cases)
    return f'<?xml version="1.0"?><testsuites><testsuite name="pytest">{body}</testsuite></testsuites>'


def passing(exercise_file: str, name: str = "test_it") -> str:
    return f'<testcase classname="tests.exercises.{exercise_file}" name="{name}" time="0.1"/>'


def all_passing() -> list[str]:
    return [passing(e.test.removesuffix(".py")) for e in EXERCISES]


def grade(tmp_path: Path, report: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "report.xml"
    path.write_text(report)
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "grade.py"), str(path), "--lang", "en", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_catalog_names_each_exercise_test_file_once():
    files = sorted(p.name for p in HERE.glob("test_*.py"))
    assert sorted(e.test for e in EXERCISES) == files
    assert len(EXERCISES) == 17
    assert len({e.id for e in EXERCISES}) == 17
    for e in EXERCISES:
        assert e.test.startswith(f"test_{e.id.lower()}_")
        assert e.title and e.task and "\n" not in e.task


def test_all_passing_is_17_of_17_and_exit_0(tmp_path):
    answer = grade(tmp_path, junit(*all_passing()))
    assert answer.returncode == 0, answer.stderr
    lines = answer.stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "points", "result"]
    rows = [line for line in lines[1:] if line and not line.startswith("total")]
    assert [row.split()[0] for row in rows] == [e.id for e in EXERCISES]
    assert all(" passed" in row for row in rows)
    assert lines[-1] == "total: 17/17 exercises passed, 100/100 points"


def test_a_failure_fails_its_exercise_with_its_first_assertion(tmp_path):
    cases = all_passing()
    cases[1] = (
        '<testcase classname="tests.exercises.test_db2_optimistic_booking" name="test_a">'
        '<failure message="assert 39 == 38&#10; + where 39 = len(...)">trace</failure></testcase>'
        '<testcase classname="tests.exercises.test_db2_optimistic_booking" name="test_b">'
        '<failure message="assert 1 == 2">trace</failure></testcase>'
    )
    answer = grade(tmp_path, junit(*cases))
    assert answer.returncode == 1
    row = next(line for line in answer.stdout.splitlines() if line.startswith("DB2 "))
    assert " failed " in row and row.endswith("assert 39 == 38")
    assert answer.stdout.splitlines()[-1] == "total: 16/17 exercises passed, 90/100 points"


def test_json_report_says_which_failed_on_its_own_todo(tmp_path):
    cases = all_passing()
    cases[0] = (
        '<testcase classname="tests.exercises.test_db1_safety_margin" name="test_margin">'
        '<failure message="NotImplementedError: DB1: compute the bookable seats">trace</failure></testcase>'
    )
    # A collection error (the module did not import) is an error on a test named after the file.
    cases[2] = (
        '<testcase classname="" name="tests.exercises.test_db3_reservation_stats">'
        '<error message="collection failure">ImportError: cannot import name x</error></testcase>'
    )
    cases[3] = (
        '<testcase classname="tests.exercises.test_db4_timeline_on_status_change" name="test_t">'
        '<skipped message="no engine"/></testcase>'
    )
    answer = grade(tmp_path, junit(*cases), "--json")
    assert answer.returncode == 1
    report = json.loads(answer.stdout)
    assert (report["total"], report["passed"], report["failed"]) == (17, 14, 3)
    by_id = {e["id"]: e for e in report["exercises"]}
    assert by_id["DB1"]["passed"] is False and by_id["DB1"]["todo"] is True
    assert by_id["DB1"]["reachedTodo"] == "DB1"
    assert by_id["DB1"]["firstFailure"] == "NotImplementedError: DB1: compute the bookable seats"
    assert by_id["DB3"]["todo"] is False and by_id["DB3"]["firstFailure"] == "collection failure"
    assert by_id["DB4"]["passed"] is False and by_id["DB4"]["firstFailure"] == "skipped"
    assert by_id["DB2"] == {
        "id": "DB2",
        "title": "atomic booking with optimistic locking",
        "test": "tests/exercises/test_db2_optimistic_booking.py",
        "passed": True,
        "points": 10,
        "maxPoints": 10,
        "tests": 1,
        "failed": 0,
        "failedTests": [],
        "runs": 1,
        "failedRuns": 0,
        "firstFailure": None,
        "todo": False,
        "reachedTodo": None,
        "hint": None,
        "difficulty": 3,
        "failures": [],
    }


def test_an_exercise_whose_tests_did_not_run_fails(tmp_path):
    answer = grade(tmp_path, junit(*all_passing()[1:]))
    assert answer.returncode == 1
    row = next(line for line in answer.stdout.splitlines() if line.startswith("DB1 "))
    assert row.endswith("no test of this exercise ran")


def test_a_missing_report_is_exit_2(tmp_path):
    answer = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "grade.py"), str(tmp_path / "none.xml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert answer.returncode == 2
    assert "cannot read the test report" in answer.stderr
