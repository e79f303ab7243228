"""scripts/grade.sh --repeat on a copy of the project whose DB2 is made racy on purpose: its
first pytest run is lucky (the version guard holds), every later run loses updates. One run
grades it passed, which is exactly how a racy solution slips through; with --repeat 2 the
rerun of the racing exercises catches it, names the failed tests and takes its points."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import student_edition  # noqa: E402

GUARD = "    guard = events.c.version == version\n"
# The first process that imports the store is lucky; the marker makes every later one racy.
RACY = (
    GUARD
    + "    if _RACY_FROM_THE_SECOND_RUN:\n"
    + "        guard = sa.true()  # made racy on purpose: the last writer wins\n"
)
MARKER_CODE = """
_LUCK = __import__("pathlib").Path(__file__).resolve().parent.parent / ".first-run-done"
_RACY_FROM_THE_SECOND_RUN = _LUCK.exists()
_LUCK.touch()
"""


def racy_copy(target: Path) -> Path:
    for name in student_edition.project_files(ROOT):
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination)
    (target / ".venv").symlink_to(ROOT / ".venv")
    store = target / "event_service" / "store.py"
    text = store.read_text(encoding="utf-8")
    assert text.count(GUARD) == 1, "the DB2 solution no longer has the guard line this test patches"
    text = text.replace(GUARD, RACY) + MARKER_CODE
    store.write_text(text, encoding="utf-8")
    return target


def grade(copy: Path, *args: str) -> dict[str, Any]:
    answer = subprocess.run(
        ["scripts/grade.sh", "--json", "--lang", "en", *args, "--", "-k", "db2"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ},
    )
    assert answer.stdout.strip(), answer.stderr[-3000:]
    return json.loads(answer.stdout)


@pytest.mark.timeout(1200)
def test_repeat_catches_a_db2_made_racy_on_purpose(tmp_path):
    copy = racy_copy(tmp_path / "racy")

    lucky = grade(copy, "--repeat", "1")
    db2 = next(x for x in lucky["exercises"] if x["id"] == "DB2")
    assert (db2["passed"], db2["points"], db2["runs"]) == (True, 10, 1), db2

    (copy / ".first-run-done").unlink()
    caught = grade(copy, "--repeat", "2")
    db2 = next(x for x in caught["exercises"] if x["id"] == "DB2")
    assert (db2["passed"], db2["points"], db2["runs"], db2["failedRuns"]) == (False, 0, 2, 1), db2
    assert all(f["run"] == 2 for f in db2["failures"])
    assert "test_racing_writes_through_the_repository_never_lose_an_update" in db2["failedTests"]
    assert db2["hint"]
