"""Writes the student edition of the project: a copy where the solution of each of the
seventeen exercises, marked in the code between `# exercise <ID>: begin` and
`# exercise <ID>: end`, is replaced by a TODO that raises NotImplementedError("<ID>: <task>").
At level 2 (--level 2) the wider regions `# exercise <ID>, level 2: begin` … `end` are
replaced instead: whole pieces of each pattern (a function's body, the retry loop around a
write, the calls to an engine), in one to six places per exercise; their docstrings go with
them. The copy says its level in tests/exercises/EDITION_LEVEL, for scripts/grade.sh.
Everything else is copied as it is, so the services still import and start; only the paths
that reach a TODO fail, and scripts/grade.sh in the copy grades what the student wrote. The
docs' passages that show a solution (`<!-- answer <ID>: begin -->` … `end -->`) are withheld,
and the teacher's guides (the answer key) are not copied.

    python scripts/student_edition.py [--level 1|2] DIR

The copy holds the files git knows in the working tree (or, outside a git checkout, every
file but .git, .venv, .data and caches), without this generator and its test. Standard
library only."""

import argparse
import json
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.exercises.catalog import BY_ID, EXERCISES, Exercise  # noqa: E402

# `# exercise DB2: begin` marks a level-1 region (a fill-in); `# exercise DB2, level 2: begin`
# a level-2 one (a whole piece: a function's body, the loop around a call), which may enclose
# the same exercise's level-1 region. An exercise has one level-1 region and at least one
# level-2 region.
MARKER = re.compile(
    r"^(?P<indent>[ \t]*)# exercise (?P<id>[A-Z]+[0-9]+)(?P<level>, level 2)?: (?P<edge>begin|end)[ \t]*$"
)
LEVELS = (1, 2)
# A student edition cannot make another one: the generator and the tests that read its markers
# stay out of it, and so do the teacher's guides (the answer key).
LEFT_OUT = {
    "scripts/student-edition.sh",
    "scripts/student_edition.py",
    "tests/e2e/test_student_edition.py",
    "tests/e2e/test_student_edition_level2.py",
    "tests/e2e/test_grade_repeat.py",
    "tests/e2e/test_edition_labs.py",
    "tests/unit/test_edition_answer_key.py",
    # The teacher's guides hold the answer key.
    "docs/teacher-guide.md",
    "docs/fr/guide-enseignant.md",
    "tests/unit/test_exercise_regions.py",
    # It plays the lost-update worksheet's fixes, the guarded UPDATE among them (DB2's answer).
    "tests/integration/event_service/test_lost_update_worksheet.py",
}
SKIPPED_DIRS = {
    ".git",
    ".venv",
    ".data",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "node_modules",
}


class MarkerError(ValueError):
    """The markers do not describe seventeen well-formed regions."""


@dataclass(frozen=True)
class Region:
    exercise: Exercise
    path: str
    begin: int  # line numbers, 1-based, of the two markers
    end: int
    level: int = 1
    indent: str = "    "

    def encloses(self, other: "Region") -> bool:
        return self.path == other.path and self.begin < other.begin and other.end < self.end


def project_files(root: Path) -> list[str]:
    try:
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=True,
            capture_output=True,
        ).stdout.decode()
        names = [n for n in listed.split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        names = [
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and not SKIPPED_DIRS.intersection(p.relative_to(root).parts)
        ]
    return sorted(n for n in names if n not in LEFT_OUT and (root / n).is_file())


def find_regions(path: str, lines: list[str]) -> list[Region]:
    """Every marked region of a file, both levels, in the order they begin."""
    regions: list[Region] = []
    open_at: list[tuple[str, str, int, int]] = []  # (id, indent, line, level), outermost first
    for number, line in enumerate(lines, start=1):
        found = MARKER.match(line.rstrip("\n"))
        if not found:
            continue
        ident, edge, indent = found["id"], found["edge"], found["indent"]
        level = 2 if found["level"] else 1
        where = f"{path}:{number}"
        if ident not in BY_ID:
            raise MarkerError(f"{where}: unknown exercise {ident}")
        if edge == "begin":
            if open_at and not (open_at[-1][3] == 2 and level == 1 and open_at[-1][0] == ident):
                # Only a level-2 region holds another region, and only its own exercise's
                # level-1 one: a stub inside another exercise's stub would vanish with it.
                raise MarkerError(f"{where}: {ident} begins inside {open_at[-1][0]}")
            if not indent:
                # A stub at module level would raise on import: the region must be in a body.
                raise MarkerError(f"{where}: {ident} must be marked inside a function body")
            open_at.append((ident, indent, number, level))
        else:
            if not open_at or open_at[-1][0] != ident or open_at[-1][1] != indent or open_at[-1][3] != level:
                raise MarkerError(f"{where}: end of {ident} without its begin at the same indentation")
            _, _, begun, _ = open_at.pop()
            regions.append(Region(BY_ID[ident], path, begun, number, level, indent))
    if open_at:
        raise MarkerError(f"{path}:{open_at[-1][2]}: {open_at[-1][0]} has no end")
    return sorted(regions, key=lambda r: r.begin)


def stub(exercise: Exercise, indent: str, level: int = 1) -> list[str]:
    task, task_fr = exercise.task_at(level), exercise.task_fr_at(level)
    message = json.dumps(f"{exercise.id}: {task}", ensure_ascii=False)
    named = exercise.id if level == 1 else f"{exercise.id} (level 2)"
    width = max(40, 96 - len(indent))

    def comment(text: str) -> list[str]:
        wrapped = textwrap.wrap(text, width=width - 2, subsequent_indent="  ")
        return [f"{indent}# {line}\n" for line in wrapped]

    return [
        *comment(f"TODO {named}: {task}."),
        *comment(f"À FAIRE {exercise.id} : {task_fr}."),
        f"{indent}# tests/exercises/{exercise.test} checks it; scripts/grade.sh grades every exercise.\n",
        f"{indent}raise NotImplementedError({message})\n",
    ]


def stubbed(regions: list[Region], level: int) -> list[Region]:
    """The regions an edition of `level` turns into TODOs: at level 1 the fill-ins; at level 2
    the whole pieces, and the fill-ins no level-2 region holds."""
    if level == 1:
        return [r for r in regions if r.level == 1]
    wide = [r for r in regions if r.level == 2]
    return sorted(
        wide + [r for r in regions if r.level == 1 and not any(w.encloses(r) for w in wide)],
        key=lambda r: r.begin,
    )


def student_version(lines: list[str], regions: list[Region], level: int = 1) -> list[str]:
    """The file with `regions` as TODOs and every other marker line dropped."""
    chosen = stubbed(regions, level) if any(r.level == 2 for r in regions) else list(regions)
    out: list[str] = []
    starts = {r.begin: r for r in chosen}
    number = 1
    while number <= len(lines):
        region = starts.get(number)
        if region is not None:
            out += stub(region.exercise, region.indent, level if region.level == 2 else 1)
            number = region.end + 1
            continue
        if not MARKER.match(lines[number - 1].rstrip("\n")):
            out.append(lines[number - 1])
        number += 1
    return out


def removed_lines(region: Region, lines: list[str]) -> int:
    """The solution's lines a region takes out: its lines but the markers."""
    inside = lines[region.begin : region.end - 1]
    return sum(not MARKER.match(line.rstrip("\n")) for line in inside)


def sizes(root: Path, files: list[str] | None = None) -> dict[int, dict[str, int]]:
    """Per level, per exercise, the solution's lines its edition removes."""
    files = project_files(root) if files is None else files
    found = {level: dict.fromkeys(BY_ID, 0) for level in LEVELS}
    for name, regions in every_region(root, files).items():
        lines = (root / name).read_text(encoding="utf-8").splitlines(keepends=True)
        for level in LEVELS:
            for region in stubbed(regions, level):
                found[level][region.exercise.id] += removed_lines(region, lines)
    return found


def every_region(root: Path, files: list[str]) -> dict[str, list[Region]]:
    """Every marked region, both levels, by file; checked: one level-1 region per exercise,
    at least one level-2 region, and no level-2 region holding another's fill-in."""
    by_file: dict[str, list[Region]] = {}
    for name in files:
        if not name.endswith(".py"):
            continue
        regions = find_regions(name, (root / name).read_text(encoding="utf-8").splitlines(keepends=True))
        if regions:
            by_file[name] = regions
    for level in LEVELS:
        seen: dict[str, list[Region]] = {}
        for regions in by_file.values():
            for region in regions:
                if region.level == level:
                    seen.setdefault(region.exercise.id, []).append(region)
        missing = [e.id for e in EXERCISES if e.id not in seen]
        if missing:
            kind = "marked region" if level == 1 else "level-2 region"
            raise MarkerError(f"no {kind} for {', '.join(missing)}")
        doubled = [i for i, found in seen.items() if len(found) > 1]
        if level == 1 and doubled:
            raise MarkerError(f"more than one marked region for {', '.join(doubled)}")
    return by_file


def all_regions(root: Path, files: list[str], level: int = 1) -> dict[str, list[Region]]:
    """The regions an edition of `level` turns into TODOs, by file."""
    chosen = {name: stubbed(regions, level) for name, regions in every_region(root, files).items()}
    return {name: regions for name, regions in chosen.items() if regions}


def guide(places: dict[str, list[str]], level: int = 1) -> str:
    """STUDENT-EDITION.md: per exercise what to write, where its TODOs are and its test."""
    rows = [(e, ", ".join(f"`{place}`" for place in places.get(e.id, []))) for e in EXERCISES]
    wide = level == 2
    lines = [
        "# Student edition" + (" (level 2)" if wide else "") + "\n",
        "\n",
        f"<!-- edition level: {level} -->\n",
        "\n",
    ]
    if wide:
        lines += [
            "Level 2: each exercise is a whole piece to write (a function's body, the loop around\n",
            "a call, sometimes in two or three places), not a fill-in. The tests are the same as at\n",
            "level 1; the hints are level 2's (`scripts/grade.sh` knows the level).\n",
            "\n",
        ]
    lines += [
        "Each exercise below is a TODO in the code: it raises `NotImplementedError` until you\n",
        "write it. Everything else works; the paths that reach a TODO fail. Start the engines\n",
        "(`scripts/infra.sh up`), then `scripts/grade.sh` grades all seventeen: per exercise its\n",
        "points, the tests that failed and a hint (`--lang en` or `--lang fr`);\n",
        "`scripts/grade.sh -- -k db2` runs one exercise's tests. Each row first fails on its own\n",
        "TODO, so the exercises can be written in any order; once it is written, a row may name\n",
        "another exercise's TODO that its later tests reach.\n",
        "\n",
        "| id | what to write | where | test |\n",
        "|---|---|---|---|\n",
    ]
    for e, where in rows:
        lines.append(f"| {e.id} | {e.task_at(level)} | {where} | `tests/exercises/{e.test}` |\n")
    lines += [
        "\n",
        "## En français\n",
        "\n",
    ]
    if wide:
        lines += [
            "Niveau 2 : chaque exercice est un morceau entier à écrire (le corps d'une fonction,\n",
            "la boucle autour d'un appel, parfois à deux ou trois endroits), pas un trou à remplir.\n",
            "Les tests sont ceux du niveau 1 ; les indices sont ceux du niveau 2.\n",
            "\n",
        ]
    lines += [
        "Chaque exercice ci-dessous est un TODO dans le code : il lève `NotImplementedError`\n",
        "tant que vous ne l'avez pas écrit. Tout le reste marche ; seuls les chemins qui passent\n",
        "par un TODO échouent. Démarrez les moteurs (`scripts/infra.sh up`), puis lancez\n",
        "`scripts/grade.sh --lang fr` : pour chaque exercice, vos points, les tests en échec et\n",
        "un indice. `scripts/grade.sh -- -k db2` lance les tests d'un seul exercice. Les\n",
        "exercices se font dans n'importe quel ordre. Le lien entre le sujet et le code :\n",
        "`docs/fr/handout.md`.\n",
        "\n",
        "| id | à écrire | où | test (dans `tests/exercises/`) |\n",
        "|---|---|---|---|\n",
    ]
    for e, where in rows:
        lines.append(f"| {e.id} | {e.task_fr_at(level)} | {where} | `{e.test}` |\n")
    return "".join(lines)


# A doc passage that shows an exercise's solution is marked like a region, in Markdown:
# `<!-- answer DB2: begin -->` … `<!-- answer DB2: end -->`, each on its own line. The edition
# replaces it with a line that sends the student to the TODO instead.
DOC_MARKER = re.compile(r"^<!-- answer (?P<id>[A-Z]+[0-9]+): (?P<edge>begin|end) -->[ \t]*$")
WITHHELD = {
    "en": "*Exercise {id} is yours to write ({task}): this passage gave it away; it returns with the "
    "solution.*\n",
    "fr": "*L'exercice {id} est à vous ({task}) : ce passage, qui donnait la réponse, revient avec la "
    "solution.*\n",
}


def doc_passages(path: str, lines: list[str]) -> list[tuple[str, int, int]]:
    """(exercise id, begin, end) of each marked passage of a Markdown page, 1-based lines."""
    passages: list[tuple[str, int, int]] = []
    open_at: tuple[str, int] | None = None
    for number, line in enumerate(lines, start=1):
        found = DOC_MARKER.match(line.rstrip("\n"))
        if not found:
            continue
        ident, where = found["id"], f"{path}:{number}"
        if ident not in BY_ID:
            raise MarkerError(f"{where}: unknown exercise {ident}")
        if found["edge"] == "begin":
            if open_at is not None:
                raise MarkerError(f"{where}: {ident} begins inside {open_at[0]}")
            open_at = (ident, number)
        else:
            if open_at is None or open_at[0] != ident:
                raise MarkerError(f"{where}: end of {ident} without its begin")
            passages.append((ident, open_at[1], number))
            open_at = None
    if open_at is not None:
        raise MarkerError(f"{path}:{open_at[1]}: {open_at[0]} has no end")
    return passages


def withheld_doc(path: str, lines: list[str], level: int = 1) -> list[str]:
    """The page with each marked passage replaced by one line giving the exercise's task at
    this level instead."""
    lang = "fr" if path.startswith("docs/fr/") else "en"
    out = list(lines)
    for ident, begin, end in reversed(doc_passages(path, lines)):
        task = BY_ID[ident].task_in(lang, level)
        out[begin - 1 : end] = [WITHHELD[lang].format(id=ident, task=task)]
    return out


# The edition's level, read by scripts/grade.sh (its hints and tasks are the level's).
LEVEL_FILE = "tests/exercises/EDITION_LEVEL"


def write_edition(root: Path, target: Path, level: int = 1) -> list[Region]:
    files = project_files(root)
    by_file = every_region(root, files)
    target.mkdir(parents=True, exist_ok=True)
    places: dict[str, list[str]] = {}
    for name in files:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if name in by_file:
            lines = (root / name).read_text(encoding="utf-8").splitlines(keepends=True)
            written = student_version(lines, by_file[name], level)
            destination.write_text("".join(written), encoding="utf-8")
            shutil.copymode(root / name, destination)
            for number, line in enumerate(written, start=1):
                found = TODO_RAISED.match(line)
                if found:
                    places.setdefault(found["id"], []).append(f"{name}:{number}")
        elif name.endswith(".md"):
            lines = (root / name).read_text(encoding="utf-8").splitlines(keepends=True)
            destination.write_text("".join(withheld_doc(name, lines, level)), encoding="utf-8")
        else:
            shutil.copy2(root / name, destination)
    (target / "STUDENT-EDITION.md").write_text(guide(places, level), encoding="utf-8")
    (target / LEVEL_FILE).write_text(f"{level}\n", encoding="utf-8")
    return [r for regions in by_file.values() for r in stubbed(regions, level)]


TODO_RAISED = re.compile(r'^[ \t]*raise NotImplementedError\("(?P<id>[A-Z]+[0-9]+): ')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="student-edition", description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="where to write the copy (a new or empty folder)")
    parser.add_argument(
        "--level",
        type=int,
        choices=LEVELS,
        default=1,
        help="1: fill-ins inside the patterns (default); 2: whole pieces of each pattern",
    )
    args = parser.parse_args(argv)
    target: Path = args.dir.resolve()
    if target.exists() and any(target.iterdir()):
        print(f"student-edition: {target} is not empty", file=sys.stderr)
        return 2
    if target == ROOT or ROOT in target.parents:
        print(f"student-edition: {target} is inside the project", file=sys.stderr)
        return 2
    try:
        regions = write_edition(ROOT, target, args.level)
        removed = sizes(ROOT)
    except MarkerError as exc:
        print(f"student-edition: {exc}", file=sys.stderr)
        return 1
    exercises = len({r.exercise.id for r in regions})
    print(f"student edition (level {args.level}) written to {target}: {exercises} exercises left as TODO")
    for e in EXERCISES:
        places = ", ".join(f"{r.path}:{r.begin}" for r in regions if r.exercise is e)
        print(f"  {e.id:<6} {removed[args.level][e.id]:>4} lines  {places}")
    totals = {level: sum(removed[level].values()) for level in LEVELS}
    print(f"lines removed: level 1 {totals[1]}, level 2 {totals[2]} ({totals[2] / totals[1]:.1f} x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
