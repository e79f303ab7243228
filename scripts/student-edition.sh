#!/usr/bin/env bash
# Writes the student edition of the project into DIR (a new or empty folder outside it): a
# copy where each exercise's marked solution (`# exercise <ID>: begin` … `# exercise <ID>: end`)
# is a TODO raising NotImplementedError("<ID>: <task>"), the docs' passages that show a solution
# withheld, the teacher's guides left out; everything else intact. In the copy,
# scripts/grade.sh grades the seventeen exercises; STUDENT-EDITION.md lists the TODOs.
#   scripts/student-edition.sh DIR              level 1: a fill-in inside each pattern
#   scripts/student-edition.sh --level 2 DIR    level 2: whole pieces (`# exercise <ID>, level 2:`)
# It prints each exercise's lines removed and both levels' totals.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -lt 1 || "${1:-}" == -h || "${1:-}" == --help ]]; then
  sed -n '2,9p' "$0"
  exit 2
fi
exec python3 "$ROOT/scripts/student_edition.py" "$@"
