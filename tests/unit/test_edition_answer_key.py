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
