"""What `fleet` and the grader tell a student exists in French too, chosen from the locale
(LC_ALL, LC_MESSAGES, then LANG) by one rule shared by both, English by default; every message
is in the one catalogue (fleetctl/messages.py, scripts/grade.py's WORDS) with the same fields
in both languages."""

import ast
import os
import string
import subprocess
import sys
from pathlib import Path

import pytest

from fleetctl import fleet as fleetctl
from fleetctl import labs, messages

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
