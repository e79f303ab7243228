#!/usr/bin/env bash
# Writes the student edition of the project into DIR (a new or empty folder outside it): a
# copy where each exercise's marked solution (`# exercise <ID>: begin` … `# exercise <ID>: end`)
# is a TODO raising NotImplementedError("<ID>: <task>"), the docs' passages that show a solution
# withheld, the teacher's guides left out; everything else intact. In the copy,
# scripts/grade.sh grades the seventeen exercises; STUDENT-EDITION.md lists the TODOs.
#   scripts/student-edition.sh DIR
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -ne 1 || "$1" == -h || "$1" == --help ]]; then
  sed -n '2,7p' "$0"
  exit 2
fi
exec python3 "$ROOT/scripts/student_edition.py" "$1"
