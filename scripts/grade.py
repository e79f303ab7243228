"""Grades the seventeen exercises from pytest junit reports of tests/exercises/: per exercise
the tests that failed by name, a hint (French or English), the points of the rubric kept in
tests/exercises/catalog.py, and a total. The first report is the full run; any further ones
are reruns of the exercises whose tests race writers (scripts/grade.sh --repeat): such an
exercise passes only when every run passed, so a racy solution cannot pass by luck.

    python scripts/grade.py REPORT.xml [RERUN.xml ...] [--json] [--lang fr|en] [--student NAME]
                            [--level 1|2]   (default: the edition's level, else 1)
    python scripts/grade.py rerun REPORT.xml     the test files worth rerunning, one a line
    python scripts/grade.py rollup DIR           a class table from a folder of --json reports

Exit 0 when all seventeen pass, 1 otherwise (2 when a report is missing or unreadable).
Standard library only: it runs in the solution and in a student edition alike."""

import argparse
import csv
import datetime
import io
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleetctl.messages import language  # noqa: E402
from tests.exercises.catalog import EXERCISES, MAX_POINTS, Exercise  # noqa: E402

FILE_ID = re.compile(r"test_([a-z]+[0-9]+)_")
TODO = re.compile(r"NotImplementedError: ([A-Z]+[0-9]+): ")
# tests/exercises/conftest.py fails the later tests of an exercise with this once one failed.
NOT_RUN = "not run: an earlier test of"

WORDS = {
    "en": {
        "header": ("id", "points", "result", "what failed"),
        "passed": "passed",
        "failed": "failed",
        "todo": "TODO not written yet",
        "reached": "reached the TODO of {other}",
        "no_test": "no test of this exercise ran",
        "skipped": "skipped",
        "tests": "failed tests",
        "not_run": "{n} more not run",
        "hint": "hint",
        "colon": ": ",
        "runs": "failed in {bad} of {runs} runs (its tests race writers)",
        "total": "total: {passed}/{count} exercises passed, {points}/{max} points",
        # What grade.sh and the roll-up say (grade.sh asks: `grade.py say KEY NAME=VALUE ...`).
        "unreadable": "grade: cannot read the test report: {error}",
        "engines_down": "grade: engines down (start them with scripts/infra.sh up):\n{down}",
        "rerun": "grade: run {run} of {repeat} of the racing exercises: {files}",
        "repeat": "grade: --repeat takes a whole number >= 1",
        "not_a_folder": "grade rollup: {dir} is not a folder",
        "no_report": "grade rollup: no grade report (*.json) in {dir}",
        "skipped_file": "grade rollup: skipped {line}",
        "written": "{count} students; written {csv} and {md}",
    },
    "fr": {
        "header": ("id", "points", "résultat", "ce qui échoue"),
        "passed": "réussi",
        "failed": "échoué",
        "todo": "TODO pas encore écrit",
        "reached": "atteint le TODO de {other}",
        "no_test": "aucun test de cet exercice n'a tourné",
        "skipped": "ignoré",
        "tests": "tests en échec",
        "not_run": "{n} non lancé(s)",
        "hint": "indice",
        "colon": " : ",
        "runs": "échoue dans {bad} exécutions sur {runs} (ses tests font courir des écritures en parallèle)",
        "total": "total : {passed}/{count} exercices réussis, {points}/{max} points",
        "unreadable": "grade : impossible de lire le rapport des tests : {error}",
        "engines_down": "grade : moteurs arrêtés (démarrez-les avec scripts/infra.sh up) :\n{down}",
        "rerun": "grade : exécution {run} sur {repeat} des exercices à accès concurrents : {files}",
        "repeat": "grade : --repeat attend un nombre entier >= 1",
        "not_a_folder": "grade rollup : {dir} n'est pas un dossier",
        "no_report": "grade rollup : aucun rapport de note (*.json) dans {dir}",
        "skipped_file": "grade rollup : ignoré {line}",
        "written": "{count} étudiants ; écrits : {csv} et {md}",
    },
}


# Written by scripts/student-edition.sh into the edition: 1 or 2. Absent in the solution.
LEVEL_FILE = ROOT / "tests" / "exercises" / "EDITION_LEVEL"


def default_level(path: Path = LEVEL_FILE) -> int:
    """The student edition's level (its hints and tasks are that level's), 1 when unknown."""
    try:
        return 2 if path.read_text(encoding="utf-8").strip() == "2" else 1
    except OSError:
        return 1


def default_lang(environ: Mapping[str, str] = os.environ) -> str:
    """French when the locale says so (LC_ALL, then LC_MESSAGES, then LANG), else English: the
    rule `fleet` follows too (fleetctl/messages.py)."""
    return language(environ)


def said(key: str, lang: str | None = None, **fields: object) -> str:
    return str(WORDS.get(lang or default_lang(), WORDS["en"])[key]).format(**fields)


@dataclass
class Result:
    exercise: Exercise
    tests: int = 0
    runs: set[int] = field(default_factory=set)
    failures: list[dict[str, object]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.tests > 0 and not self.failures

    @property
    def points(self) -> int:
        return self.exercise.points if self.passed else 0

    @property
    def failed_tests(self) -> list[str]:
        """The tests that failed by themselves, each once, in the order they failed."""
        names: list[str] = []
        for f in self.failures:
            if NOT_RUN not in str(f["message"]) and f["test"] not in names:
                names.append(str(f["test"]))
        return names

    @property
    def not_run(self) -> int:
        return sum(NOT_RUN in str(f["message"]) for f in self.failures)

    @property
    def failed_runs(self) -> int:
        return len({f["run"] for f in self.failures})

    @property
    def first_failure(self) -> str | None:
        if self.failures:
            return str(self.failures[0]["message"])
        return None if self.tests else "no test of this exercise ran"

    @property
    def reached_todo(self) -> str | None:
        found = TODO.match(self.first_failure or "")
        return found.group(1) if found else None

    def as_json(self, lang: str, level: int = 1) -> dict[str, object]:
        e = self.exercise
        return {
            "id": e.id,
            "title": e.title,
            "test": f"tests/exercises/{e.test}",
            "passed": self.passed,
            "points": self.points,
            "maxPoints": e.points,
            "tests": self.tests,
            "failed": len(self.failures),
            "failedTests": self.failed_tests,
            "runs": len(self.runs),
            "failedRuns": self.failed_runs,
            "firstFailure": self.first_failure,
            # In a student edition an exercise first fails on its own TODO ("todo"); once that
            # is written, a later test of it may reach another exercise's ("reachedTodo").
            "todo": self.reached_todo == e.id,
            "reachedTodo": self.reached_todo,
            "hint": None if self.passed else e.hint(lang, level),
            "difficulty": e.difficulty_at(level),
            "failures": self.failures,
        }


def first_line(text: str) -> str:
    """The line that says what failed: pytest puts the assertion or exception first."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line[:2000]
    return ""


def read_reports(paths: list[Path]) -> dict[str, Result]:
    results = {e.id: Result(e) for e in EXERCISES}
    for run, path in enumerate(paths, start=1):
        root = ET.parse(path).getroot()
        for case in root.iter("testcase"):
            where = f"{case.get('classname', '')}.{case.get('name', '')} {case.get('file', '')}"
            found = FILE_ID.search(where)
            if not found or found.group(1).upper() not in results:
                continue
            result = results[found.group(1).upper()]
            result.runs.add(run)
            if run == 1:
                result.tests += 1
            name = case.get("name", "")
            if case.find("skipped") is not None:
                # A skipped exercise test proves nothing: it counts as a failure.
                result.failures.append({"test": name, "kind": "skipped", "message": "skipped", "run": run})
                continue
            for kind in ("failure", "error"):
                problem = case.find(kind)
                if problem is not None:
                    message = first_line(problem.get("message") or "") or first_line(problem.text or "")
                    result.failures.append({"test": name, "kind": kind, "message": message, "run": run})
                    break
    return results


def what_failed(r: Result, words: Mapping[str, object]) -> str:
    if r.passed:
        return ""
    if not r.tests:
        return str(words["no_test"])
    if r.reached_todo == r.exercise.id:
        said = str(words["todo"])
    elif r.reached_todo:
        said = str(words["reached"]).format(other=r.reached_todo)
    else:
        said = (r.first_failure or "")[:100]
    if len(r.runs) > 1:
        said += "; " + str(words["runs"]).format(bad=r.failed_runs, runs=len(r.runs))
    return said


def table(results: dict[str, Result], lang: str, level: int = 1) -> str:
    words = WORDS[lang]
    header = words["header"]
    rows = [tuple(header)]
    details: dict[str, list[str]] = {}
    for r in results.values():
        state = words["passed"] if r.passed else words["failed"]
        rows.append((r.exercise.id, f"{r.points}/{r.exercise.points}", str(state), what_failed(r, words)))
        if not r.passed and r.tests:
            colon = str(words["colon"])
            lines = [f"{words['tests']}{colon}{', '.join(r.failed_tests) or '-'}"]
            if r.not_run:
                lines[0] += f" ({str(words['not_run']).format(n=r.not_run)})"
            lines.append(f"{words['hint']}{colon}{r.exercise.hint(lang, level)}")
            details[r.exercise.id] = lines
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    out: list[str] = []
    for row in rows:
        out.append("  ".join([*(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])), row[3]]).rstrip())
        for detail in details.get(row[0], []):
            out.append(" " * (widths[0] + 2) + "  " + detail)
    passed = sum(r.passed for r in results.values())
    points = sum(r.points for r in results.values())
    out.append("")
    out.append(str(words["total"]).format(passed=passed, count=len(results), points=points, max=MAX_POINTS))
    return "\n".join(out)


def report(
    results: dict[str, Result], lang: str, student: str | None, repeat: int, level: int = 1
) -> dict[str, object]:
    passed = sum(r.passed for r in results.values())
    return {
        "project": ROOT.name,
        "student": student,
        "gradedAt": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "lang": lang,
        "repeat": repeat,
        "level": level,
        "total": len(results),
        "passed": passed,
        "failed": len(results) - passed,
        "points": sum(r.points for r in results.values()),
        "maxPoints": MAX_POINTS,
        "exercises": [r.as_json(lang, level) for r in results.values()],
    }


def rerun_files(path: Path) -> list[str]:
    """The test files of the racing exercises that passed the first run: a failed one has
    nothing more to prove, and rerunning it only costs time."""
    results = read_reports([path])
    return [
        f"tests/exercises/{r.exercise.test}" for r in results.values() if r.exercise.concurrent and r.passed
    ]


# --- the class roll-up --------------------------------------------------------------------


def load_class(folder: Path) -> tuple[list[tuple[str, dict[str, object]]], list[str]]:
    """(student, report) for each readable --json report in the folder, and the files skipped."""
    found: list[tuple[str, dict[str, object]]] = []
    skipped: list[str] = []
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or not isinstance(doc.get("exercises"), list):
                raise ValueError("not a grade report")
        except (OSError, ValueError) as exc:
            skipped.append(f"{path.name}: {exc}")
            continue
        found.append((str(doc.get("student") or path.stem), doc))
    return found, skipped


def exercises_of(doc: dict[str, object]) -> list[dict[str, object]]:
    listed = doc.get("exercises")
    return [x for x in listed if isinstance(x, dict)] if isinstance(listed, list) else []


def class_rows(reports: list[tuple[str, dict[str, object]]]) -> list[list[str]]:
    ids = [e.id for e in EXERCISES]
    rows = [["student", *ids, "points", "passed"]]
    for student, doc in reports:
        by_id = {str(x["id"]): x for x in exercises_of(doc)}
        points = [str(by_id[i].get("points", 0)) if i in by_id else "" for i in ids]
        total = sum(int(p) for p in points if p)
        passed = sum(bool(by_id[i].get("passed")) for i in ids if i in by_id)
        rows.append([student, *points, str(total), f"{passed}/{len(ids)}"])
    if reports:
        # How many students passed each exercise: where the class needs a second explanation.
        counts = []
        for i in ids:
            n = sum(
                any(x.get("id") == i and x.get("passed") for x in exercises_of(doc)) for _, doc in reports
            )
            counts.append(f"{n}/{len(reports)}")
        totals = [int(row[-2]) for row in rows[1:]]
        rows.append(["passed by", *counts, f"mean {sum(totals) / len(totals):.1f}", ""])
    return rows


def as_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def as_markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines) + "\n"


def rollup(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="grade rollup", description="a class table from a folder of students' --json reports"
    )
    parser.add_argument("dir", type=Path, help="a folder of grade reports (*.json), one per student")
    parser.add_argument("--csv", type=Path, help="where to write the CSV (default DIR/class-results.csv)")
    parser.add_argument("--md", type=Path, help="where to write the Markdown (default DIR/class-results.md)")
    args = parser.parse_args(argv)
    if not args.dir.is_dir():
        print(said("not_a_folder", dir=args.dir), file=sys.stderr)
        return 2
    reports, skipped = load_class(args.dir)
    for line in skipped:
        print(said("skipped_file", line=line), file=sys.stderr)
    if not reports:
        print(said("no_report", dir=args.dir), file=sys.stderr)
        return 1
    rows = class_rows(reports)
    csv_path = args.csv or args.dir / "class-results.csv"
    md_path = args.md or args.dir / "class-results.md"
    csv_path.write_text(as_csv(rows), encoding="utf-8")
    md_path.write_text(as_markdown(rows), encoding="utf-8")
    print(as_markdown(rows), end="")
    print("\n" + said("written", count=len(reports), csv=csv_path, md=md_path), file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["rollup"]:
        return rollup(argv[1:])
    if argv[:1] == ["say"]:
        # grade.sh's own messages: `grade.py say [--lang fr|en] KEY NAME=VALUE ...`.
        lang, rest = None, argv[1:]
        if rest[:1] == ["--lang"]:
            lang, rest = rest[1], rest[2:]
        print(said(rest[0], lang, **dict(pair.split("=", 1) for pair in rest[1:])))
        return 0
    if argv[:1] == ["rerun"]:
        try:
            for name in rerun_files(Path(argv[1])):
                print(name)
        except (IndexError, OSError, ET.ParseError) as exc:
            print(said("unreadable", error=exc), file=sys.stderr)
            return 2
        return 0
    parser = argparse.ArgumentParser(prog="grade", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "reports", type=Path, nargs="+", help="pytest --junitxml reports: the run, then reruns"
    )
    parser.add_argument("--json", action="store_true", help="a machine-readable report on stdout")
    parser.add_argument("--lang", choices=("fr", "en"), default=default_lang(), help="the hints' language")
    parser.add_argument("--student", help="the student's name, kept in the JSON for the class roll-up")
    parser.add_argument("--repeat", type=int, help="the runs asked for the racing exercises (recorded)")
    parser.add_argument(
        "--level", type=int, choices=(1, 2), default=default_level(), help="the edition's level (its hints)"
    )
    args = parser.parse_args(argv)
    try:
        results = read_reports(args.reports)
    except (OSError, ET.ParseError) as exc:
        print(said("unreadable", lang=args.lang, error=exc), file=sys.stderr)
        return 2
    passed = sum(r.passed for r in results.values())
    if args.json:
        doc = report(results, args.lang, args.student, args.repeat or len(args.reports), args.level)
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print(table(results, args.lang, args.level))
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
