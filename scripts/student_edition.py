"""Writes the student edition of the project: a copy where the solution of each of the
seventeen exercises, marked in the code between `# exercise <ID>: begin` and
`# exercise <ID>: end`, is replaced by a TODO that raises NotImplementedError("<ID>: <task>").
Everything else is copied as it is, so the services still import and start; only the paths
that reach a TODO fail, and scripts/grade.sh in the copy grades what the student wrote. The
docs' passages that show a solution (`<!-- answer <ID>: begin -->` … `end -->`) are withheld,
and the teacher's guides (the answer key) are not copied.

    python scripts/student_edition.py DIR

The copy holds the files git knows in the working tree (or, outside a git checkout, every
file but .git, .venv, .data and caches), without this generator and its test. Standard
library only."""

import argparse
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.exercises.catalog import BY_ID, EXERCISES, Exercise  # noqa: E402

MARKER = re.compile(r"^(?P<indent>[ \t]*)# exercise (?P<id>[A-Z]+[0-9]+): (?P<edge>begin|end)[ \t]*$")
# A student edition cannot make another one: the generator and the tests that read its markers
# stay out of it, and so do the teacher's guides (the answer key).
LEFT_OUT = {
    "scripts/student-edition.sh",
    "scripts/student_edition.py",
    "tests/e2e/test_student_edition.py",
    "tests/e2e/test_grade_repeat.py",
    "tests/e2e/test_edition_labs.py",
    "tests/unit/test_edition_answer_key.py",
    # The teacher's guides hold the answer key.
    "docs/teacher-guide.md",
    "docs/fr/guide-enseignant.md",
    "tests/unit/test_exercise_regions.py",
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
    regions: list[Region] = []
    open_at: tuple[str, str, int] | None = None
    for number, line in enumerate(lines, start=1):
        found = MARKER.match(line.rstrip("\n"))
        if not found:
            continue
        ident, edge, indent = found["id"], found["edge"], found["indent"]
        where = f"{path}:{number}"
        if ident not in BY_ID:
            raise MarkerError(f"{where}: unknown exercise {ident}")
        if edge == "begin":
            if open_at is not None:
                raise MarkerError(f"{where}: {ident} begins inside {open_at[0]}")
            if not indent:
                # A stub at module level would raise on import: the region must be in a body.
                raise MarkerError(f"{where}: {ident} must be marked inside a function body")
            open_at = (ident, indent, number)
        else:
            if open_at is None or open_at[0] != ident or open_at[1] != indent:
                raise MarkerError(f"{where}: end of {ident} without its begin at the same indentation")
            regions.append(Region(BY_ID[ident], path, open_at[2], number))
            open_at = None
    if open_at is not None:
        raise MarkerError(f"{path}:{open_at[2]}: {open_at[0]} has no end")
    return regions


def stub(exercise: Exercise, indent: str) -> list[str]:
    message = json.dumps(f"{exercise.id}: {exercise.task}", ensure_ascii=False)
    return [
        f"{indent}# TODO {exercise.id}: {exercise.task}.\n",
        f"{indent}# tests/exercises/{exercise.test} checks it; scripts/grade.sh grades every exercise.\n",
        f"{indent}raise NotImplementedError({message})\n",
    ]


def student_version(lines: list[str], regions: list[Region]) -> list[str]:
    out = list(lines)
    for region in sorted(regions, key=lambda r: r.begin, reverse=True):
        indent = MARKER.match(lines[region.begin - 1].rstrip("\n"))["indent"]  # type: ignore[index]
        out[region.begin - 1 : region.end] = stub(region.exercise, indent)
    return out


def all_regions(root: Path, files: list[str]) -> dict[str, list[Region]]:
    by_file: dict[str, list[Region]] = {}
    for name in files:
        if not name.endswith(".py"):
            continue
        regions = find_regions(name, (root / name).read_text(encoding="utf-8").splitlines(keepends=True))
        if regions:
            by_file[name] = regions
    seen: dict[str, list[Region]] = {}
    for regions in by_file.values():
        for region in regions:
            seen.setdefault(region.exercise.id, []).append(region)
    missing = [e.id for e in EXERCISES if e.id not in seen]
    doubled = [i for i, found in seen.items() if len(found) > 1]
    if missing:
        raise MarkerError(f"no marked region for {', '.join(missing)}")
    if doubled:
        raise MarkerError(f"more than one marked region for {', '.join(doubled)}")
    return by_file


def guide(by_file: dict[str, list[Region]]) -> str:
    rows = sorted(
        (r for regions in by_file.values() for r in regions), key=lambda r: EXERCISES.index(r.exercise)
    )
    lines = [
        "# Student edition\n",
        "\n",
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
    for r in rows:
        test = f"`tests/exercises/{r.exercise.test}`"
        lines.append(f"| {r.exercise.id} | {r.exercise.task} | `{r.path}:{r.begin}` | {test} |\n")
    lines += [
        "\n",
        "## En français\n",
        "\n",
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
    for r in rows:
        lines.append(
            f"| {r.exercise.id} | {r.exercise.task_fr} | `{r.path}:{r.begin}` | `{r.exercise.test}` |\n"
        )
    return "".join(lines)


# A doc passage that shows an exercise's solution is marked like a region, in Markdown:
# `<!-- answer DB2: begin -->` … `<!-- answer DB2: end -->`, each on its own line. The edition
# replaces it with a line that sends the student to the TODO instead.
DOC_MARKER = re.compile(r"^<!-- answer (?P<id>[A-Z]+[0-9]+): (?P<edge>begin|end) -->[ \t]*$")
WITHHELD = {
    "en": "*Exercise {id} is yours to write: this passage gave it away; it returns with the solution.*\n",
    "fr": "*L'exercice {id} est à vous : ce passage, qui donnait la réponse, revient avec la solution.*\n",
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


def withheld_doc(path: str, lines: list[str]) -> list[str]:
    lang = "fr" if path.startswith("docs/fr/") else "en"
    out = list(lines)
    for ident, begin, end in reversed(doc_passages(path, lines)):
        out[begin - 1 : end] = [WITHHELD[lang].format(id=ident)]
    return out


def write_edition(root: Path, target: Path) -> list[Region]:
    files = project_files(root)
    by_file = all_regions(root, files)
    target.mkdir(parents=True, exist_ok=True)
    for name in files:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if name in by_file:
            lines = (root / name).read_text(encoding="utf-8").splitlines(keepends=True)
            destination.write_text("".join(student_version(lines, by_file[name])), encoding="utf-8")
            shutil.copymode(root / name, destination)
        elif name.endswith(".md"):
            lines = (root / name).read_text(encoding="utf-8").splitlines(keepends=True)
            destination.write_text("".join(withheld_doc(name, lines)), encoding="utf-8")
        else:
            shutil.copy2(root / name, destination)
    (target / "STUDENT-EDITION.md").write_text(guide(by_file), encoding="utf-8")
    return [r for regions in by_file.values() for r in regions]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="student-edition", description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="where to write the copy (a new or empty folder)")
    args = parser.parse_args(argv)
    target: Path = args.dir.resolve()
    if target.exists() and any(target.iterdir()):
        print(f"student-edition: {target} is not empty", file=sys.stderr)
        return 2
    if target == ROOT or ROOT in target.parents:
        print(f"student-edition: {target} is inside the project", file=sys.stderr)
        return 2
    try:
        regions = write_edition(ROOT, target)
    except MarkerError as exc:
        print(f"student-edition: {exc}", file=sys.stderr)
        return 1
    print(f"student edition written to {target}: {len(regions)} exercises left as TODO")
    for r in sorted(regions, key=lambda r: EXERCISES.index(r.exercise)):
        print(f"  {r.exercise.id:<6} {r.path}:{r.begin}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
