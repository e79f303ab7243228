"""The answer key (the teacher's guides, docs/teacher-guide.md and docs/fr/guide-enseignant.md)
never ships inside a student edition: the guides are not copied, and no line of their answer
keys appears in any file of the edition. Left out of the edition (it makes one)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import student_edition  # noqa: E402

GUIDES = ("docs/teacher-guide.md", "docs/fr/guide-enseignant.md")
# Text that states an exercise's solution, kept here because this file never ships (the
# catalogue does): a student edition must contain none of it, in code or docs (doc passages
# that show a solution are marked `<!-- answer ID: begin -->` and withheld).
GIVEAWAYS = {
    "DB2": ("AND version = :read", "AND version = :v", "AND version = :lue", "events.c.version == version"),
    "DB3": ("$match {eventId, seatHold", '"$sum": {"$cond": [{"$in"'),
}


def answer_key_lines(guide: str) -> list[str]:
    """The guide's lines from its first answer-key heading on, long enough to be its own."""
    text = (ROOT / guide).read_text(encoding="utf-8")
    start = min(text.index(h) for h in ("## Answer key", "## Corrigé") if h in text)
    return [line.strip() for line in text[start:].splitlines() if len(line.strip()) > 40]


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("edition")
    student_edition.write_edition(ROOT, target)
    return target


def test_the_guides_hold_an_answer_key_for_every_lab_and_exercise():
    for guide in GUIDES:
        key = "\n".join(answer_key_lines(guide))
        for lab in ("lost-update", "no-outbox", "no-idempotency", "stale-cache", "no-compensation"):
            assert f"**{lab}.** 1." in key, (guide, lab)
        for exercise in ("DB1", "DB2", "SAGA4", "ES3", "REST1"):
            assert f"| {exercise} | " in key, (guide, exercise)


def test_no_answer_of_the_guides_ships_in_the_edition(edition: Path):
    for guide in GUIDES:
        assert not (edition / guide).exists()
    shipped = {
        path.relative_to(edition): path.read_text(encoding="utf-8", errors="replace")
        for path in edition.rglob("*")
        if path.is_file() and path.suffix in {".md", ".py", ".txt", ".html", ".js", ".json", ".sh", ".toml"}
    }
    assert len(shipped) > 100
    leaks = [
        f"{name}: {line[:60]}"
        for guide in GUIDES
        for line in answer_key_lines(guide)
        for name, text in shipped.items()
        if line in text
    ]
    assert not leaks, leaks


def test_no_solution_is_given_away_in_the_edition(edition: Path):
    """Each exercise's distinctive solution text (GIVEAWAYS): in the
    solution it is there (else the check proves nothing), in the edition nowhere, neither in
    the code nor in a doc passage (those are marked and withheld)."""
    solution = {
        name: (ROOT / name).read_text(encoding="utf-8", errors="replace")
        for name in student_edition.project_files(ROOT)
        if name.endswith((".md", ".py")) and name not in student_edition.LEFT_OUT
    }
    shipped = {
        str(path.relative_to(edition)): path.read_text(encoding="utf-8", errors="replace")
        for path in edition.rglob("*")
        if path.is_file() and path.suffix in {".md", ".py", ".txt", ".html", ".js", ".json", ".sh", ".toml"}
    }
    checked = 0
    for exercise, texts in GIVEAWAYS.items():
        for text in texts:
            assert any(text in body for body in solution.values()), (exercise, text)
            leaks = [name for name, body in shipped.items() if text in body]
            assert not leaks, f"{exercise}'s {text!r} is in the edition: {leaks}"
            checked += 1
    assert checked >= 6


def test_a_marked_doc_passage_is_withheld_in_the_page_s_language():
    lines = ["Intro.\n", "<!-- answer DB2: begin -->\n", "UPDATE … AND version = :v\n"]
    lines += ["<!-- answer DB2: end -->\n", "After.\n"]
    english = "".join(student_edition.withheld_doc("docs/labs.md", lines))
    french = "".join(student_edition.withheld_doc("docs/fr/labs.md", lines))
    assert "version = :v" not in english + french and "answer DB2" not in english + french
    assert english.startswith("Intro.\n*Exercise DB2 is yours to write") and english.endswith("After.\n")
    assert "*L'exercice DB2 est à vous" in french
    with pytest.raises(student_edition.MarkerError, match="has no end"):
        student_edition.doc_passages("x.md", lines[:3])
