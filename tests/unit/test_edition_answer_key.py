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
    "DB1": ("bookable = bookable_seats(capacity, booked)",),
    "DB2": ("AND version = :read", "AND version = :v", "AND version = :lue", "events.c.version == version"),
    "DB3": ("$match {eventId, seatHold", '"$sum": {"$cond": [{"$in"'),
    "DB4": ('push["timeline"] = entry.as_document()', "$push timeline, outbox"),
    "POLY1": ("await self.redis.set(key, value, ex=ttl)",),
    "POLY2": ('payment_key(doc["id"]), json.dumps(doc, separators=(",", ":"))',),
    "POLY3": ("hit = await cache.get_answer(payment_id)",),
    "POLY4": ("(Decimal(booked) * HUNDRED / Decimal(capacity))",),
    "POLY5": (
        'if current and current.get("deleted") and version <= stored',
        "wins at an equal version, since",
    ),
    "SAGA1": ('"amount": booking_amount(body.seats, price, self.settings.currency)',),
    "SAGA2": ("idempotency_key=key(saga.id, Step.CREATE_RESERVATION)",),
    "SAGA3": ("idempotency_key=key(saga.id, Step.PROCESS_PAYMENT)",),
    "SAGA4": ("may_have_acted = record.status in",),
    "ES1": ('{"aggregateId": aggregate_id, "version": {"$gt": from_version}}',),
    "ES2": ('{"eventType": event_type_name(event_type), **_time_range(from_date, to_date)}',),
    "ES3": ("if expected != current:", "be the current version, else the caller decided"),
    "REST1": ("if not value.is_integer():",),
}
# What level 2 removes besides: the whole pieces around the fill-ins.
GIVEAWAYS_2 = {
    "DB1": ("raise SeatsNotBooked(seats, booked)",),
    "DB2": ("self._count_conflict(scope)", "_seat_statement(keep_answer=idem is not None)"),
    "DB3": ('result["revenue"] = _to_decimal(found.get("revenue", 0))',),
    "DB4": ('"version": before["version"], **(require or {})', "continue  # someone wrote in between"),
    "POLY1": ("await self.redis.delete(key)", "left = int(await self.redis.ttl(key))"),
    "POLY2": ('return f"payment:{payment_id}"',),
    "POLY3": ("await cached.put(body)", "return await self._guarded_write(key, value, version, ttl)"),
    "POLY4": ('doc["occupancyRate"] = float(occupancy_rate(booked, capacity))',),
    "POLY5": ('"if_seq_no": read.seq_no', "if await store.write_event(event_id, new, found"),
    "SAGA1": ("outcome = await self.participants.run_step(step, saga)", "then_begin=following"),
    "SAGA2": ("idempotency_key=key(saga.id, Step.RESERVE_SEATS)",),
    "SAGA3": ('f"PROCESS_PAYMENT: payment declined: {reason}"',),
    "SAGA4": ("if await self._made_after_all(Step.RESERVE_SEATS, saga) is None:",),
    "ES1": ('return int(latest["version"]), str(latest["aggregateType"])',),
    "ES2": ('bounds["$lte"] = to_date',),
    "ES3": ("if await self.store.insert(doc):",),
    "REST1": ("if value > MAX_SEATS_PER_REQUEST:",),
}
SHIPPED_SUFFIXES = {".md", ".py", ".txt", ".html", ".js", ".json", ".sh", ".toml"}


def answer_key_lines(guide: str) -> list[str]:
    """The guide's lines from its first answer-key heading on, long enough to be its own."""
    text = (ROOT / guide).read_text(encoding="utf-8")
    start = min(text.index(h) for h in ("## Answer key", "## Corrigé") if h in text)
    return [line.strip() for line in text[start:].splitlines() if len(line.strip()) > 40]


@pytest.fixture(scope="module")
def editions(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    made = {}
    for level in (1, 2):
        target = tmp_path_factory.mktemp(f"edition{level}")
        student_edition.write_edition(ROOT, target, level)
        made[level] = target
    return made


@pytest.fixture(scope="module")
def edition(editions: dict[int, Path]) -> Path:
    return editions[1]


def shipped_text(edition: Path) -> dict[str, str]:
    return {
        str(path.relative_to(edition)): path.read_text(encoding="utf-8", errors="replace")
        for path in edition.rglob("*")
        if path.is_file() and path.suffix in SHIPPED_SUFFIXES
    }


def test_the_guides_hold_an_answer_key_for_every_lab_and_exercise():
    for guide in GUIDES:
        key = "\n".join(answer_key_lines(guide))
        for lab in ("lost-update", "no-outbox", "no-idempotency", "stale-cache", "no-compensation"):
            assert f"**{lab}.** 1." in key, (guide, lab)
        for exercise in ("DB1", "DB2", "SAGA4", "ES3", "REST1"):
            assert f"| {exercise} | " in key, (guide, exercise)
        # The lost-update worksheet's thirteen questions, answered.
        assert "40001" in key and "UPDATE 0" in key and "13. " in key, guide
        assert "(lost-update-worksheet.md)" in key or "(fiche-mise-a-jour-perdue.md)" in key, guide


def test_no_answer_of_the_guides_ships_in_the_edition(edition: Path):
    for guide in GUIDES:
        assert not (edition / guide).exists()
    shipped = shipped_text(edition)
    assert len(shipped) > 100
    leaks = [
        f"{name}: {line[:60]}"
        for guide in GUIDES
        for line in answer_key_lines(guide)
        for name, text in shipped.items()
        if line in text
    ]
    assert not leaks, leaks


@pytest.mark.parametrize("level", [1, 2])
def test_no_solution_is_given_away_in_the_edition(editions: dict[int, Path], level: int):
    """Each exercise's distinctive solution text (GIVEAWAYS, and at level 2 GIVEAWAYS_2 too):
    in the solution it is there (else the check proves nothing), in the edition nowhere,
    neither in the code nor in a doc passage (those are marked and withheld)."""
    solution = {
        name: (ROOT / name).read_text(encoding="utf-8", errors="replace")
        for name in student_edition.project_files(ROOT)
        if name.endswith((".md", ".py")) and name not in student_edition.LEFT_OUT
    }
    shipped = shipped_text(editions[level])
    assert set(GIVEAWAYS) == set(GIVEAWAYS_2) == {e.id for e in student_edition.EXERCISES}
    checked = 0
    for exercise in GIVEAWAYS:
        texts = GIVEAWAYS[exercise] + (GIVEAWAYS_2[exercise] if level == 2 else ())
        for text in texts:
            # Present in the solution, or (a reworded docstring) in its git history: a text
            # that is in neither guards nothing.
            assert any(text in body for body in solution.values()) or text in OLD_WORDING, (exercise, text)
            leaks = [name for name, body in shipped.items() if text in body]
            assert not leaks, f"{exercise}'s {text!r} is in the level-{level} edition: {leaks}"
            checked += 1
    assert checked >= (20 if level == 1 else 40)


# Docstrings that stated a fill-in's answer, reworded for both levels: they must not return.
OLD_WORDING = {"wins at an equal version, since", "be the current version, else the caller decided"}


@pytest.mark.parametrize("level", [1, 2])
def test_no_line_of_a_removed_solution_is_quoted_anywhere_in_the_edition(
    editions: dict[int, Path], level: int
):
    """Every line of code a level removes that is its own (long enough, found nowhere else in
    the solution's shipped code) is absent from the whole edition: no doc page or comment
    quotes it."""
    files = student_edition.project_files(ROOT)
    regions = student_edition.all_regions(ROOT, files, level)
    inside: dict[str, set[int]] = {}
    removed: dict[str, list[str]] = {}
    for path, found in regions.items():
        lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
        for r in found:
            inside.setdefault(path, set()).update(range(r.begin, r.end + 1))
            for line in lines[r.begin : r.end - 1]:
                code = line.strip()
                if len(code) >= 30 and not code.startswith(("#", '"""')) and not code.endswith('"""'):
                    removed.setdefault(r.exercise.id, []).append(code)
    elsewhere = "\n".join(
        line
        for name in files
        if name.endswith(".py") and name not in student_edition.LEFT_OUT
        for number, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), start=1)
        if number not in inside.get(name, ())
    )
    shipped = shipped_text(editions[level])
    own = {i: [c for c in codes if c not in elsewhere] for i, codes in removed.items()}
    assert sum(map(len, own.values())) >= (60 if level == 1 else 250), {i: len(c) for i, c in own.items()}
    leaks = [
        f"{i}: {code[:60]} in {name}"
        for i, codes in own.items()
        for code in codes
        for name, body in shipped.items()
        if code in body
    ]
    assert not leaks, leaks


def test_a_marked_doc_passage_is_withheld_in_the_page_s_language():
    lines = ["Intro.\n", "<!-- answer DB2: begin -->\n", "UPDATE … AND version = :v\n"]
    lines += ["<!-- answer DB2: end -->\n", "After.\n"]
    english = "".join(student_edition.withheld_doc("docs/labs.md", lines))
    french = "".join(student_edition.withheld_doc("docs/fr/labs.md", lines))
    assert "version = :v" not in english + french and "answer DB2" not in english + french
    assert english.startswith("Intro.\n*Exercise DB2 is yours to write") and english.endswith("After.\n")
    assert "*L'exercice DB2 est à vous" in french
    # The line gives the task instead, the level's own.
    db2 = student_edition.BY_ID["DB2"]
    assert f"({db2.task})" in english and f"({db2.task_fr})" in french
    wide = "".join(student_edition.withheld_doc("docs/labs.md", lines, 2))
    assert f"({db2.task_at(2)})" in wide and db2.task_at(2) != db2.task
    with pytest.raises(student_edition.MarkerError, match="has no end"):
        student_edition.doc_passages("x.md", lines[:3])


def test_the_guides_level_2_tables_are_the_catalogue_s():
    """Each exercise's lines removed at both levels, difficulty and minutes at level 2, as
    the guides give them, are the catalogue's (which a test keeps equal to the generator's)."""
    for guide in GUIDES:
        text = (ROOT / guide).read_text(encoding="utf-8")
        for e in student_edition.EXERCISES:
            row = f"| {e.id} | {e.size[0]} | {e.size[1]} | {e.difficulty_at(2)} | {e.minutes_at(2)} |"
            assert row in text, (guide, row)
        total = sum(e.size[1] for e in student_edition.EXERCISES)
        assert f"| total | {sum(e.size[0] for e in student_edition.EXERCISES)} | {total} |" in text, guide
