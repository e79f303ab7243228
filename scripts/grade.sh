#!/usr/bin/env bash
# Grades the seventeen exercises: runs tests/exercises/ (pytest, junit report) and prints, per
# exercise, its points, passed/failed, the tests that failed by name and a hint; then a total.
#   scripts/grade.sh                 the table; exit 0 only when all seventeen pass
#   scripts/grade.sh --json          the same as JSON, for a teacher to collect
#   scripts/grade.sh --lang fr|en    the hints' language (default: the locale, LC_ALL/LANG)
#   scripts/grade.sh --repeat N      run the racing exercises' tests N times in all (default 3)
#   scripts/grade.sh --student NAME  the name kept in the JSON
#   scripts/grade.sh --level 1|2     the edition's level, for its hints (default: the edition's own)
#   scripts/grade.sh rollup DIR      a class table (CSV and Markdown) from a folder of JSON reports
# Extra arguments after -- go to pytest (e.g. scripts/grade.sh -- -k db2). Needs the engines
# running (scripts/infra.sh up); creates .venv when missing (scripts/bootstrap.sh).
# Works in the solution and in a student edition (scripts/student-edition.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ "${1:-}" == rollup ]]; then
  shift
  exec python3 scripts/grade.py rollup "$@"
fi

# An exercise whose tests race writers (DB2, POLY3, SAGA1, ES3: `concurrent` in
# tests/exercises/catalog.py) passes only if it passes every run. Three runs: see
# docs/teacher-guide.md ("Grading") for the measured odds of a racy solution passing.
repeat=3
lang=()
grade_args=()
pytest_args=()
# The messages a student reads, in the locale's language or --lang's (scripts/grade.py WORDS).
say() { python3 scripts/grade.py say "${lang[@]}" "$@"; }
usage="usage: $0 [--json] [--lang fr|en] [--level 1|2] [--repeat N] [--student NAME] [-- pytest arguments] | rollup DIR"
while (( $# )); do
  case "$1" in
    --json) grade_args+=(--json) ;;
    --lang|--student|--level)
      [[ $# -ge 2 ]] || { echo "$usage" >&2; exit 2; }
      [[ "$1" == --lang ]] && lang=(--lang "$2")
      grade_args+=("$1" "$2"); shift ;;
    --repeat)
      [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { say repeat >&2; exit 2; }
      repeat=$2; shift ;;
    --) shift; pytest_args=("$@"); break ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
  shift
done

scripts/bootstrap.sh >&2
down=$(scripts/infra.sh status 2>/dev/null | grep ' down$' || true)
if [[ -n "$down" ]]; then
  say engines_down "down=$down" >&2
  exit 2
fi

report_dir=$(mktemp -d)
trap 'rm -rf "$report_dir"' EXIT
# TP4_GRADING=1: once a test of an exercise failed, its other tests fail without running
# (tests/exercises/conftest.py): each run grades up to an exercise's first failure. pytest's
# own output goes to stderr (the table or the JSON is stdout); its exit status is ours to read.
run_tests() {
  local report=$1
  shift
  TP4_GRADING=1 .venv/bin/python -m pytest "$@" -p no:cacheprovider -q -rN --tb=line \
    --junitxml="$report" -o junit_family=xunit2 "${pytest_args[@]}" >&2 || true
}
run_tests "$report_dir/run1.xml" tests/exercises
reports=("$report_dir/run1.xml")
# The reruns: only the racing exercises that passed so far (one that failed has shown it).
# (Never an empty name: pytest given "" would run every test of the project.)
mapfile -t racing < <(.venv/bin/python scripts/grade.py rerun "$report_dir/run1.xml" | grep -v '^$' || true)
for (( run = 2; run <= repeat && ${#racing[@]} > 0; run++ )); do
  say rerun "run=$run" "repeat=$repeat" "files=${racing[*]}" >&2
  run_tests "$report_dir/run$run.xml" "${racing[@]}"
  reports+=("$report_dir/run$run.xml")
done
exec .venv/bin/python scripts/grade.py "${reports[@]}" --repeat "$repeat" "${grade_args[@]}"
