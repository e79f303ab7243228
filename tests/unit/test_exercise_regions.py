"""The exercise regions (`# exercise <ID>: begin` … `end`) and the teaching faults: no
`faults.on(...)` site sits inside a region, so a student edition keeps every fault and its
labs run once the exercises are written. Left out of the student edition (it reads the
markers, which the edition no longer has)."""

import re
import sys
from pathlib import Path

from shared.faults import Fault

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import student_edition  # noqa: E402

FAULT_SITE = re.compile(r"faults\.on\(\s*Fault\.([A-Z_]+)")


def fault_sites() -> list[tuple[str, int, str]]:
    sites = []
    for name in student_edition.project_files(ROOT):
        if not name.endswith(".py") or name.startswith("tests/"):
            continue
        for number, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), start=1):
            for found in FAULT_SITE.finditer(line):
                sites.append((name, number, found.group(1)))
    return sites


def test_every_teaching_fault_has_a_site_outside_every_exercise_region():
    regions = student_edition.all_regions(ROOT, student_edition.project_files(ROOT))
    sites = fault_sites()
    assert {Fault[site[2]] for site in sites} == set(Fault), "a fault is checked nowhere"
    inside = [
        f"{path}:{number} ({fault}) is inside {r.exercise.id} ({r.path}:{r.begin}-{r.end})"
        for path, number, fault in sites
        for r in regions.get(path, [])
        if r.begin <= number <= r.end
    ]
    assert not inside, "a student edition would delete these teaching faults: " + "; ".join(inside)


def test_the_check_sees_a_fault_inside_a_region():
    lines = ["def f():\n", "    # exercise DB2: begin\n", "    if faults.on(Fault.LOST_UPDATE):\n"]
    lines += ["        pass\n", "    # exercise DB2: end\n"]
    (region,) = student_edition.find_regions("x.py", lines)
    numbers = [n for n, line in enumerate(lines, start=1) if FAULT_SITE.search(line)]
    assert numbers == [3] and region.begin <= numbers[0] <= region.end
