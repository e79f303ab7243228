#!/usr/bin/env bash
# Grades the seventeen exercises: runs tests/exercises/ (pytest, junit report) and prints one
# row per exercise (id, title, passed/failed, the first failing assertion) and a total.
#   scripts/grade.sh            the table; exit 0 only when all seventeen pass
#   scripts/grade.sh --json     the same as JSON, for a teacher to collect
# Extra arguments after -- go to pytest (e.g. scripts/grade.sh -- -x). Needs the engines
# running (scripts/infra.sh up); creates .venv when missing (scripts/bootstrap.sh).
# Works in the solution and in a student edition (scripts/student-edition.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

json=()
pytest_args=()
while (( $# )); do
  case "$1" in
    --json) json=(--json) ;;
    --) shift; pytest_args=("$@"); break ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--json] [-- pytest arguments]" >&2; exit 2 ;;
  esac
  shift
done

scripts/bootstrap.sh >&2
down=$(scripts/infra.sh status 2>/dev/null | grep ' down$' || true)
if [[ -n "$down" ]]; then
  printf 'grade: engines down (start them with scripts/infra.sh up):\n%s\n' "$down" >&2
  exit 2
fi

report_dir=$(mktemp -d)
trap 'rm -rf "$report_dir"' EXIT
# TP4_GRADING=1: once a test of an exercise failed, its other tests fail without running
# (tests/exercises/conftest.py): only the first failure is graded. pytest's own output goes
# to stderr (the table or the JSON is stdout); its exit status is the grade's business.
TP4_GRADING=1 .venv/bin/python -m pytest tests/exercises -p no:cacheprovider -q -rN --tb=line \
  --junitxml="$report_dir/exercises.xml" -o junit_family=xunit2 "${pytest_args[@]}" >&2 || true
exec .venv/bin/python scripts/grade.py "$report_dir/exercises.xml" "${json[@]}"
