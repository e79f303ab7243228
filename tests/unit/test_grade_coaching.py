"""The grader coaches (scripts/grade.py): per exercise the failed tests by name, a hint in the
student's language, the rubric's points; reruns of the racing exercises fail a solution that
passed once by luck; the roll-up turns a folder of students' reports into one class table."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.exercises.catalog import BY_ID, EXERCISES, MAX_POINTS

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import grade  # noqa: E402


def junit(*cases: str) -> str:
    body = "".join(cases)
    return f'<?xml version="1.0"?><testsuites><testsuite name="pytest">{body}</testsuite></testsuites>'


def case(exercise_id: str, name: str, failure: str | None = None) -> str:
    module = BY_ID[exercise_id].test.removesuffix(".py")
    if failure is None:
        return f'<testcase classname="tests.exercises.{module}" name="{name}" time="0.1"/>'
    return (
        f'<testcase classname="tests.exercises.{module}" name="{name}">'
        f'<failure message="{failure}">trace</failure></testcase>'
    )


def all_passing(but: str = "") -> list[str]:
    return [case(e.id, "test_it") for e in EXERCISES if e.id != but]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def grade_cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "grade.py"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_the_rubric_gives_100_points_and_each_exercise_two_hints():
    assert MAX_POINTS == 100
    for e in EXERCISES:
        assert e.points > 0 and e.difficulty in (1, 2, 3) and e.minutes > 0
        assert e.hint_en and e.hint_fr and e.hint_en != e.hint_fr
        assert e.task_fr and "\n" not in e.task_fr and e.task_in("fr") == e.task_fr
    # The exercises whose tests race writers are graded over several runs.
    assert {e.id for e in EXERCISES if e.concurrent} >= {"DB2", "ES3"}


def test_a_failed_exercise_names_its_failed_tests_and_gives_a_hint(tmp_path):
    report = write(
        tmp_path,
        "run1.xml",
        junit(
            *all_passing(but="DB2"),
            case("DB2", "test_racing_writes", "assert 12 == 30"),
            case("DB2", "test_never_oversell", "Failed: not run: an earlier test of DB2 failed"),
            case("DB2", "test_moved_version"),
        ),
    )
    english = grade_cli(report, "--json", "--lang", "en")
    assert english.returncode == 1
    doc = json.loads(english.stdout)
    assert (doc["points"], doc["maxPoints"], doc["passed"]) == (90, 100, 16)
    db2 = next(x for x in doc["exercises"] if x["id"] == "DB2")
    assert (db2["points"], db2["maxPoints"], db2["passed"]) == (0, 10, False)
    # The test that failed by itself is named; the one the grader did not run is not.
    assert db2["failedTests"] == ["test_racing_writes"]
    assert db2["hint"] == BY_ID["DB2"].hint_en
    assert all(x["hint"] is None for x in doc["exercises"] if x["passed"])

    french = grade_cli(report, "--lang", "fr")
    assert "indice : " + BY_ID["DB2"].hint_fr in french.stdout
    assert "tests en échec : test_racing_writes (1 non lancé(s))" in french.stdout
    assert french.stdout.splitlines()[-1] == "total : 16/17 exercices réussis, 90/100 points"


def test_a_todo_not_written_is_said_so_in_the_students_language(tmp_path):
    report = write(
        tmp_path,
        "run1.xml",
        junit(
            *all_passing(but="ES3"), case("ES3", "test_stale", "NotImplementedError: ES3: refuse an append")
        ),
    )
    answer = grade_cli(report, env={"LANG": "fr_FR.UTF-8", "PATH": "/usr/bin:/bin"})
    row = next(line for line in answer.stdout.splitlines() if line.startswith("ES3 "))
    assert "0/8" in row and "échoué" in row and row.endswith("TODO pas encore écrit")
    assert "indice : " + BY_ID["ES3"].hint_fr in answer.stdout


@pytest.mark.parametrize(
    ("environ", "lang"),
    [
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "fr_CA.UTF-8"}, "fr"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LC_ALL": "fr_BE.UTF-8", "LANG": "en_US.UTF-8"}, "fr"),
        ({"LC_ALL": "C.UTF-8", "LANG": "fr_FR.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_the_default_language_follows_the_locale(environ, lang):
    assert grade.default_lang(environ) == lang


def test_a_racing_exercise_that_fails_a_rerun_fails_and_loses_its_points(tmp_path):
    first = write(tmp_path, "run1.xml", junit(*all_passing()))
    # Only the racing exercises that passed are rerun.
    rerun = grade_cli("rerun", first)
    assert rerun.stdout.split() == [f"tests/exercises/{e.test}" for e in EXERCISES if e.concurrent]
    second = write(tmp_path, "run2.xml", junit(case("DB2", "test_it"), case("ES3", "test_it")))
    third = write(
        tmp_path, "run3.xml", junit(case("DB2", "test_it", "assert 29 == 30"), case("ES3", "test_it"))
    )
    answer = grade_cli(first, second, third, "--json", "--repeat", "3", "--lang", "en")
    assert answer.returncode == 1
    doc = json.loads(answer.stdout)
    assert (doc["repeat"], doc["points"]) == (3, 90)
    by_id = {x["id"]: x for x in doc["exercises"]}
    assert (by_id["DB2"]["passed"], by_id["DB2"]["runs"], by_id["DB2"]["failedRuns"]) == (False, 3, 1)
    assert by_id["DB2"]["failedTests"] == ["test_it"] and by_id["DB2"]["failures"][0]["run"] == 3
    assert (by_id["ES3"]["passed"], by_id["ES3"]["runs"], by_id["ES3"]["tests"]) == (True, 3, 1)
    assert by_id["DB1"]["runs"] == 1
    table = grade_cli(first, second, third, "--lang", "en").stdout
    assert "failed in 1 of 3 runs (its tests race writers)" in table


def student_report(tmp_path: Path, name: str, failing: list[str]) -> dict[str, object]:
    cases = [case(e.id, "test_it", "assert False" if e.id in failing else None) for e in EXERCISES]
    report = write(tmp_path, f"{name}.xml", junit(*cases))
    return json.loads(grade_cli(report, "--json", "--student", name).stdout)


def test_the_rollup_turns_three_reports_into_one_class_table(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    reports = {
        "alice": student_report(tmp_path, "Alice", []),
        "bob": student_report(tmp_path, "Bob", ["DB2", "ES3"]),
        "chloe": student_report(tmp_path, "Chloé", [e.id for e in EXERCISES]),
    }
    for file, doc in reports.items():
        (folder / f"{file}.json").write_text(json.dumps(doc), encoding="utf-8")
    (folder / "notes.json").write_text("{not json")
    answer = subprocess.run(
        [str(ROOT / "scripts" / "grade.sh"), "rollup", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert answer.returncode == 0, answer.stderr
    assert "skipped notes.json" in answer.stderr
    rows = list(csv.reader((folder / "class-results.csv").open(encoding="utf-8")))
    assert rows[0] == ["student", *(e.id for e in EXERCISES), "points", "passed"]
    by_student = {row[0]: row for row in rows[1:]}
    assert by_student["Alice"][-2:] == ["100", "17/17"]
    assert by_student["Bob"][-2:] == ["82", "15/17"]
    assert by_student["Bob"][1 + [e.id for e in EXERCISES].index("DB2")] == "0"
    assert by_student["Chloé"][-2:] == ["0", "0/17"]
    last = rows[-1]
    assert last[0] == "passed by" and last[1 + [e.id for e in EXERCISES].index("DB2")] == "1/3"
    assert last[-2] == "mean 60.7"
    markdown = (folder / "class-results.md").read_text(encoding="utf-8")
    assert markdown == answer.stdout
    assert markdown.splitlines()[0].startswith("| student | DB1 |")
    assert "| Bob | " in markdown and len(markdown.splitlines()) == 2 + 3 + 1


def test_the_rollup_of_an_empty_folder_says_so(tmp_path):
    answer = grade_cli("rollup", tmp_path)
    assert answer.returncode == 1 and "no grade report" in answer.stderr


def test_nothing_to_rerun_prints_nothing(tmp_path):
    # An empty line would reach pytest as "" and run the whole project's tests.
    report = write(tmp_path, "run1.xml", junit(*(case(e.id, "t", "assert False") for e in EXERCISES)))
    assert grade_cli("rerun", report).stdout == ""


def test_every_exercise_has_a_level_2_task_hints_difficulty_and_size():
    for e in EXERCISES:
        wide = e.level2
        assert wide is not None, e.id
        assert wide.task != e.task and wide.task_fr != e.task_fr and "\n" not in wide.task_fr
        assert wide.hint_en and wide.hint_fr and wide.hint_en != wide.hint_fr
        assert wide.difficulty in (1, 2, 3) and wide.difficulty >= e.difficulty
        assert wide.minutes > e.minutes
        assert e.hint("fr", 2) == wide.hint_fr != e.hint("fr", 1)
        assert 0 < e.size[0] < e.size[1], e.id


def test_the_level_gives_the_level_s_hints_read_from_the_edition_or_asked(tmp_path):
    report = write(
        tmp_path,
        "run1.xml",
        junit(
            *all_passing(but="ES3"), case("ES3", "test_stale", "NotImplementedError: ES3: write the append")
        ),
    )
    asked = json.loads(grade_cli(report, "--json", "--lang", "en", "--level", "2").stdout)
    es3 = next(x for x in asked["exercises"] if x["id"] == "ES3")
    assert asked["level"] == 2 and es3["hint"] == BY_ID["ES3"].level2.hint_en  # type: ignore[union-attr]
    assert es3["difficulty"] == BY_ID["ES3"].difficulty_at(2) and asked["points"] == 92
    table = grade_cli(report, "--lang", "fr", "--level", "2").stdout
    assert "indice : " + BY_ID["ES3"].hint("fr", 2) in table
    # Without --level: the edition's own level, 1 when the file is absent (the solution).
    (tmp_path / "EDITION_LEVEL").write_text("2\n")
    assert grade.default_level(tmp_path / "EDITION_LEVEL") == 2
    assert grade.default_level(tmp_path / "absent") == 1
    plain = json.loads(grade_cli(report, "--json", "--lang", "en").stdout)
    assert plain["level"] == grade.default_level()
