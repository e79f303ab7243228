"""What `fleet` and the grader tell a student exists in French too, chosen from the locale
(LC_ALL, LC_MESSAGES, then LANG) by one rule shared by both, English by default; every message
is in the one catalogue (fleetctl/messages.py, scripts/grade.py's WORDS) with the same fields
in both languages."""

import ast
import asyncio
import os
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fleetctl import check, labs, messages, story
from fleetctl import fleet as fleetctl

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import grade  # noqa: E402

FRENCH = {"LANG": "fr_FR.UTF-8"}


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(messages.MESSAGES))
def test_each_fleet_message_has_both_languages_with_the_same_fields(key):
    texts = messages.MESSAGES[key]
    assert set(texts) == set(messages.LANGUAGES)
    assert fields(texts["fr"]) == fields(texts["en"])
    assert texts["fr"].strip()


def test_each_grader_message_has_both_languages_with_the_same_fields():
    assert set(grade.WORDS["fr"]) == set(grade.WORDS["en"])
    for key, english in grade.WORDS["en"].items():
        if isinstance(english, str):
            assert fields(str(grade.WORDS["fr"][key])) == fields(english), key


@pytest.mark.parametrize(
    ("environ", "lang"),
    [
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "fr_SN.UTF-8"}, "fr"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LC_MESSAGES": "fr_FR.UTF-8", "LANG": "en_US.UTF-8"}, "fr"),
        ({"LC_ALL": "C.UTF-8", "LANG": "fr_FR.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_fleet_and_grader_choose_the_same_language_from_the_locale(environ, lang):
    assert messages.language(environ) == lang
    assert grade.default_lang(environ) == lang


@pytest.fixture
def french(monkeypatch):
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")


@pytest.fixture
def english(monkeypatch):
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


def test_every_lab_says_what_it_teaches_in_both_languages():
    for lab in labs.LABS.values():
        english, french = lab.said("pattern", "en"), lab.said("pattern", "fr")
        assert lab.pattern == english and french != english
        assert lab.invariant == lab.said("invariant", "en") != lab.said("invariant", "fr")


def test_fleet_lab_list_is_french_in_a_french_locale_and_english_otherwise(french, capsys, monkeypatch):
    assert fleetctl.main(["lab", "--list"]) == 0
    said = capsys.readouterr().out
    assert "verrouillage optimiste (DB2)" in said and "; invariant:" not in said
    assert " ; invariant : bookedSeats vaut le nombre de réservations confirmées" in said
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert fleetctl.main(["lab", "--list"]) == 0
    said = capsys.readouterr().out
    assert "optimistic locking (DB2)" in said
    assert "; invariant: bookedSeats equals the number of confirmed bookings" in said


class Running(fleetctl.Fleet):
    """A fleet whose every service runs (nothing is started, nothing is asked over HTTP)."""

    def pid(self, service):
        return 4242

    def ready(self, service):
        return service.package != "console"

    def teaching_faults(self, service):
        return ["lost-update"] if service.package == "event_service" else []


def test_fleet_start_and_status_speak_french_in_a_french_locale(french, capsys, tmp_path):
    fleet = Running(port_offset=5000, run_dir=tmp_path, log_dir=tmp_path)
    fleet.start(["event_service"], wait=0)
    assert fleetctl.print_table(fleet) is False  # the console is not ready
    said = capsys.readouterr().out
    assert "event_service          déjà en marche" in said
    header, *rows = said.splitlines()[1:]
    assert header.split() == ["service", "port", "pid", "prêt", "url", "base"]
    event_row = next(r for r in rows if r.startswith("event_service "))
    assert " oui " in event_row and "TEACHING FAULTS ON: lost-update (défaut volontaire activé)" in event_row
    assert " non " in next(r for r in rows if r.startswith("console "))
    assert "Console de la plateforme : http://127.0.0.1:13090" in said


def test_fleet_start_and_status_stay_english_by_default(english, capsys, tmp_path):
    fleet = Running(port_offset=5000, run_dir=tmp_path, log_dir=tmp_path)
    fleet.start(["event_service"], wait=0)
    fleetctl.print_table(fleet)
    said = capsys.readouterr().out
    assert "event_service          already running" in said
    assert "TEACHING FAULTS ON: lost-update" in said and "pédagogique" not in said
    assert "Fleet console: http://127.0.0.1:13090" in said


def grade_sh(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "grade.sh"), *args],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_grade_sh_speaks_the_locale_and_lang_overrides_it():
    """grade.sh's own messages come from the grader's catalogue (refused before any test runs)."""
    french = grade_sh("--repeat", "0", env=FRENCH)
    assert french.returncode == 2
    assert french.stderr.strip() == "grade : --repeat attend un nombre entier >= 1"
    english = grade_sh("--lang", "en", "--repeat", "0", env=FRENCH)
    assert english.stderr.strip() == "grade: --repeat takes a whole number >= 1"
    assert grade_sh("--repeat", "x", env={"LANG": "C.UTF-8"}).stderr.strip() == english.stderr.strip()


def test_the_roll_up_speaks_french(tmp_path):
    answer = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "grade.py"), "rollup", str(tmp_path / "nowhere")],
        env={"PATH": os.environ["PATH"], **FRENCH},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert answer.returncode == 2
    assert answer.stderr.strip() == f"grade rollup : {tmp_path / 'nowhere'} n'est pas un dossier"


def test_every_sentence_a_lab_says_comes_from_the_catalogue():
    """No lab step is an English literal in fleetctl/labs.py: each sentence is made of
    catalogue messages (so it exists in French), and every step message is used."""
    source = (ROOT / "fleetctl" / "labs.py").read_text()
    calls = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "step"
    ]
    assert len(calls) >= 20
    used: set[str] = set()
    for call in calls:
        sentence = call.args[1]
        assert not any(isinstance(n, ast.JoinedStr) for n in ast.walk(sentence)), ast.unparse(sentence)
        keys = [
            arg
            for n in ast.walk(sentence)
            if isinstance(n, ast.Call) and ast.unparse(n.func) == "messages.say"
            for arg in ast.walk(n.args[0])
            if isinstance(arg, ast.Constant)
        ]
        used.update(str(k.value) for k in keys)
        for n in ast.walk(sentence):
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and n not in keys:
                # a dict key ("id") or a separator (", "), never words
                assert not (" " in n.value and any(c.isalpha() for c in n.value)), ast.unparse(sentence)
    assert used <= set(messages.MESSAGES)
    assert used == {key for key in messages.MESSAGES if key.startswith("step.")}


COUNTS = {"events": 10, "reservations": 13, "payments": 13, "dead-letter queues": 3}


def _differences() -> check.Report:
    """A seat leak and a payment taken for a cancelled reservation, as `fleet check` finds them."""
    event = {"id": 7, "bookedSeats": 3, "totalCapacity": 100}
    reservations = [
        {"id": "r1", "status": "confirmed", "bookingDetails": {"seats": 2}},
        {"id": "r2", "status": "cancelled", "bookingDetails": {"seats": 1}},
    ]
    payments = {"r2": [{"id": 2, "status": "completed", "amount": 15000, "currency": "XOF"}]}
    checker = check._Checker(
        None,  # type: ignore[arg-type]  # no read is made: the payments are in the snapshot
        queue_prefix="",
        rabbitmq_api="http://127.0.0.1:15672/api",
        rabbitmq_auth=("guest", "guest"),
        stuck_seconds=60,
        check_event_store=False,
    )
    problems = checker._seats(event, reservations, [])
    problems += asyncio.run(checker._payments(reservations, check._Snapshot({}, payments), fresh=False))
    return check.Report(problems, dict(COUNTS))


def test_fleet_check_stays_english_byte_for_byte_by_default(english):
    """As README.md and docs/resilience.md show it."""
    assert check.Report([], dict(COUNTS)).table() == (
        "fleet check: OK (10 events, 13 reservations, 13 payments, 3 dead-letter queues)"
    )
    lines = _differences().table().splitlines()
    assert (
        lines[0]
        == "fleet check: 2 difference(s) (10 events, 13 reservations, 13 payments, 3 dead-letter queues)"
    )
    assert lines[1].split() == ["check", "subject", "expected", "actual", "detail"]
    assert lines[3].endswith("bookedSeats = 3  capacity 100; seats leaked")
    assert "bookedSeats = 2 (live reservations)" in lines[3]
    assert lines[4].endswith("payment 2 took 15000 XOF for a reservation that is not confirmed: refund it")


def test_fleet_check_speaks_french_in_a_french_locale(french):
    assert check.Report([], dict(COUNTS)).table() == (
        "fleet check : OK (10 événements, 13 réservations, 13 paiements, 3 files de lettres mortes)"
    )
    lines = _differences().table().splitlines()
    assert lines[0] == (
        "fleet check : 2 différence(s) "
        "(10 événements, 13 réservations, 13 paiements, 3 files de lettres mortes)"
    )
    assert lines[1].split() == ["contrôle", "objet", "attendu", "constaté", "détail"]
    # The data stays as the services name it: check names, subjects, fields, statuses, amounts.
    assert lines[3].split()[:3] == ["seats", "event", "7"]
    assert "bookedSeats = 2 (réservations en cours)" in lines[3]
    assert lines[3].endswith("capacité 100 ; des places restent prises")
    assert lines[4].endswith(
        "le paiement 2 a encaissé 15000 XOF pour une réservation non confirmée : à rembourser"
    )


class _Services:
    """What the services answer the story's create-event and cancellation-settled steps."""

    def create_event(self, **event: Any) -> dict[str, Any]:
        return {"id": 12, "bookedSeats": 0, "availableSeats": 95, **event}

    def get_event(self, event_id: int) -> dict[str, Any]:
        return {"id": event_id, "bookedSeats": 0}

    def call(self, method: str, url: str, **_: Any) -> dict[str, Any]:
        return {"status": "refunded" if "/api/payments/" in url else "cancelled"}

    def close(self) -> None:
        pass


def _told_story() -> tuple[list[str], str]:
    """The lines `fleet demo` prints for two steps, and its total line."""
    lines: list[str] = []
    told = story.Story(story.Urls.from_env(), say=lines.append)
    told.client.close()
    told.client = _Services()  # type: ignore[assignment]
    told.cancellation = {"status": "COMPLETED"}
    told.payment_id = "p1"
    steps = dict(told.steps())
    wanted = [
        name for name, action in steps.items() if action in (told.create_event, told.cancellation_settled)
    ]
    for name in wanted:
        told.run_step(name, steps[name])
    told.results.append(story.StepResult("-", False, 1.0))
    return [" ".join(line.split()) for line in lines], story.summary(told.results)


def test_fleet_demo_stays_english_by_default(english):
    lines, total = _told_story()
    assert lines[0].startswith("✓ create an event (future date) ")
    assert lines[0].endswith(" ms event 12, 100 seats (95 bookable) at 15000 XOF")
    assert lines[1].startswith("✓ seats released, payment refunded ")
    assert lines[1].endswith(" ms bookedSeats 0, payment p1 refunded, reservation cancelled")
    assert total == "2 passed, 1 failed"


def test_fleet_demo_speaks_french_in_a_french_locale(french):
    lines, total = _told_story()
    assert lines[0].startswith("✓ créer un événement (date à venir) ")
    assert lines[0].endswith(" ms événement 12, 100 places (95 réservables) à 15000 XOF")
    assert lines[1].startswith("✓ places libérées, paiement remboursé ")
    assert lines[1].endswith(" ms bookedSeats 0, paiement p1 remboursé, réservation annulée")
    assert total == "2 réussie(s), 1 en échec"


@pytest.mark.parametrize("prefix", ["check.", "story."])
def test_check_and_demo_messages_differ_in_french(prefix):
    """Each sentence of `fleet check` and `fleet demo` is written in French, not left in English
    (only a line made of data and the course's own words, such as `saga COMPLETED`, is the same)."""
    same_in_both = {"check.dlq_actual", "check.completed", "story.saga_completed"}
    keys = [key for key in messages.MESSAGES if key.startswith(prefix)]
    assert len(keys) >= 15
    for key in keys:
        texts = messages.MESSAGES[key]
        assert (texts["fr"] == texts["en"]) == (key in same_in_both), key
