"""The exercise regions (`# exercise <ID>: begin` … `end`) and the teaching faults: no
`faults.on(...)` site sits inside a region, so a student edition keeps every fault and its
labs run once the exercises are written. Left out of the student edition (it reads the
markers, which the edition no longer has)."""

import re
import sys
from pathlib import Path

import pytest

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


def test_no_teaching_fault_sits_inside_a_level_2_region_either():
    regions = student_edition.all_regions(ROOT, student_edition.project_files(ROOT), level=2)
    inside = [
        f"{path}:{number} ({fault}) is inside {r.exercise.id} level 2 ({r.path}:{r.begin}-{r.end})"
        for path, number, fault in fault_sites()
        for r in regions.get(path, [])
        if r.begin <= number <= r.end
    ]
    assert not inside, "a level-2 edition would delete these teaching faults: " + "; ".join(inside)


def test_the_catalogue_s_sizes_are_what_each_level_removes_and_level_2_is_four_times_level_1():
    from tests.exercises.catalog import EXERCISES

    removed = student_edition.sizes(ROOT)
    assert {e.id: e.size for e in EXERCISES} == {
        e.id: (removed[1][e.id], removed[2][e.id]) for e in EXERCISES
    }
    level_1, level_2 = (sum(removed[level].values()) for level in (1, 2))
    assert level_1 > 100 and level_2 >= 4 * level_1, (level_1, level_2)
    # Level 2 is never smaller than level 1 for any exercise: it holds the fill-in.
    assert all(removed[2][i] > removed[1][i] for i in removed[1]), removed


# For each pattern, an exercise whose level-2 regions hold the call that talks to its engine:
# the student writes that call, not only the logic around it.
ENGINE_CALLS = {
    "DB2": "self.conn.execute(",  # PostgreSQL: the guarded UPDATE's statement
    "DB3": ".aggregate(",  # MongoDB: the aggregation pipeline
    "DB4": ".find_one_and_update(",  # MongoDB: the conditional update
    "POLY1": "await self.redis.",  # Redis
    "POLY3": "await cache.get_answer(",  # cache-aside read
    "POLY5": "await self.client.index(",  # OpenSearch: the conditional index
    "SAGA1": "await self.store.begin(",  # the saga log in PostgreSQL
    "SAGA4": '/compensate", body, saga, compensation)',  # the participant's undo, under its key
    "ES1": "self._events.find(",  # MongoDB
    "ES3": "await self.store.insert(",  # the insert the unique index may refuse
}


def test_each_pattern_has_a_level_2_exercise_that_writes_its_engine_call():
    files = student_edition.project_files(ROOT)
    regions = student_edition.all_regions(ROOT, files, level=2)
    text: dict[str, str] = {}
    for path, found in regions.items():
        lines = (ROOT / path).read_text(encoding="utf-8").splitlines(keepends=True)
        for r in found:
            text[r.exercise.id] = text.get(r.exercise.id, "") + "".join(lines[r.begin : r.end - 1])
    missing = {i: call for i, call in ENGINE_CALLS.items() if call not in text.get(i, "")}
    assert not missing, missing
    assert {i.rstrip("0123456789") for i in ENGINE_CALLS} == {"DB", "POLY", "SAGA", "ES"}


def test_level_2_regions_nest_only_their_own_fill_in_and_drop_their_markers():
    lines = [
        "def f():\n",
        "    # exercise DB1, level 2: begin\n",
        '    """doc that gives it away"""\n',
        "    # exercise DB1: begin\n",
        "    return 1\n",
        "    # exercise DB1: end\n",
        "    # exercise DB1, level 2: end\n",
    ]
    regions = student_edition.find_regions("x.py", lines)
    assert [(r.level, r.begin, r.end) for r in regions] == [(2, 2, 7), (1, 4, 6)]
    one = "".join(student_edition.student_version(lines, regions, 1))
    two = "".join(student_edition.student_version(lines, regions, 2))
    assert "exercise DB1" not in one + two
    assert "gives it away" in one and "return 1" not in one and "# TODO DB1: " in one
    assert "gives it away" not in two and "# TODO DB1 (level 2): " in two and "# À FAIRE DB1 : " in two
    for out in (one, two):
        namespace: dict[str, object] = {}
        exec(compile(out, "x.py", "exec"), namespace)
        with pytest.raises(NotImplementedError, match=r"^DB1: "):
            namespace["f"]()  # type: ignore[operator]
    other = [*lines[:3], "    # exercise DB2: begin\n", *lines[4:5], "    # exercise DB2: end\n", *lines[6:]]
    with pytest.raises(student_edition.MarkerError, match="DB2 begins inside DB1"):
        student_edition.find_regions("x.py", other)
