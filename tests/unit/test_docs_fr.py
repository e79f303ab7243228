"""The French student path (docs/fr/) and the handout map stay true: the exercises page names
each exercise's file, test and hint as the catalogue has them; the handout's commands are
quoted as the handout writes them, and the commands it never had are not attributed to it;
every relative link and anchor of the French pages and the handout map leads somewhere; the
student pages avoid the words a class flagged as translated."""

import re
import unicodedata
from pathlib import Path

import pytest

from tests.exercises.catalog import EXERCISES

ROOT = Path(__file__).resolve().parents[2]
FR = ROOT / "docs" / "fr"
STUDENT_PAGES = (
    "README.md",
    "exercices.md",
    "console.md",
    "depannage.md",
    "securite.md",
    "labs.md",
    "handout.md",
    "fiche-mise-a-jour-perdue.md",
)

# The handout's commands, as it writes them (its two READMEs).
HANDOUT_COMMANDS = (
    "docker exec -it postgres-events psql -U events_user -d events_db",
    "docker exec -it mongo-reservations mongosh",
    "docker exec -it redis-cache redis-cli",
    "docker-compose up -d",
    "docker-compose logs -f event-service",
    "docker-compose logs -f",
    "docker-compose logs [service-name]",
    "docker ps",
    "docker-compose restart postgres-events",
    "docker-compose down",
    "./scripts/cleanup.sh --volumes",
    "./test-system.sh",
    "./start-dev.sh",
    "./gradlew bootRun",
    "npm run dev",
    "pip install -r requirements.txt",
    "python app.py",
    "chmod +x script.sh",
    "curl http://localhost:3002/api/saga",
    "event-store-service/",
    "15 exercices pratiques",
)
# Commands earlier versions of the map credited to the handout, which it never had.
NOT_THE_HANDOUTS = (
    "docker exec -it postgres-events psql -U postgres",
    "docker exec -it mongodb mongosh",
    "docker exec -it redis redis-cli",
    "the handout's `KEYS",
    "polling `GET /api/saga/{id}` until it ends",
)
HANDOUT_TITLES = {
    "DB1": "Validation métier de réservation",
    "DB2": "Réservation atomique avec optimistic locking",
    "DB3": "Statistiques avec agrégation MongoDB",
    "DB4": "Middleware timeline automatique",
    "POLY1": "Gestionnaire cache Redis",
    "POLY2": "Cache des données de paiement",
    "POLY3": "Pattern Cache-Aside",
    "POLY4": "Calcul de métriques Elasticsearch",
    "POLY5": "Mise à jour temps réel",
    "SAGA1": "Initialisation et orchestration du Saga",
    "SAGA2": "Étape de réservation distribuée",
    "SAGA3": "Étape de paiement distribuée",
    "SAGA4": "Compensations automatiques",
    "ES1": "Reconstruction d'historique d'agrégat",
    "ES2": "Requêtes par type d'événement",
    "ES3": "Validation de cohérence de version",
    "REST1": "Endpoint de réservation RESTful",
}
# Flagged by French-speaking readers as translated (issue 26), or anglicisms where French has
# the word.
TRANSLATED = (
    "panne pédagogique",
    "contre une flotte",
    "relit la tête",
    "se crée dans le futur",
    "courses",
    "broker",
)


def text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def test_the_exercises_page_names_each_todo_with_its_file_test_and_hint():
    page = text(FR / "exercices.md")
    assert set(HANDOUT_TITLES) == {e.id for e in EXERCISES}
    for e in EXERCISES:
        section = page[page.index(f"**{e.id}. ") :]
        section = section[: section.index("\n\n")]
        assert HANDOUT_TITLES[e.id] in section, e.id
        assert f"`tests/exercises/{e.test}`" in section, e.id
        assert e.hint_fr in section, e.id
        assert f"{e.points} points" in section, e.id
    assert "15 exercices pratiques" in page and "4 + 5 + 4 + 3 + 1 = **17**" in page
    assert "scripts/grade.sh --lang fr" in page


@pytest.mark.parametrize("page", ["docs/handout.md", "docs/fr/handout.md"])
def test_the_handout_map_quotes_the_handout_as_written(page):
    body = text(ROOT / page)
    for command in HANDOUT_COMMANDS:
        assert command in body, command
    for title in HANDOUT_TITLES.values():
        assert title in body, title
    for misquote in NOT_THE_HANDOUTS:
        assert misquote not in body, misquote
    assert "El Hadji Bassirou TOURE" in body
    for resource in (
        "https://microservices.io/patterns/data/database-per-service.html",
        "https://microservices.io/patterns/data/saga.html",
        "https://martinfowler.com/eaaDev/EventSourcing.html",
        "https://martinfowler.com/bliki/CQRS.html",
    ):
        assert resource in body
    assert "MongoDB →" in body and "Elasticsearch → OpenSearch" in body


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    heading = re.sub(r"`", "", heading.strip().lower())
    kept = "".join(c for c in heading if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    in_fence = False
    for line in text(page).splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        elif not in_fence and line.startswith("#"):
            found.add(slug(line.lstrip("#")))
    return found


# (Not README.md: it links the teacher's guide, which a student edition leaves out.)
LINKED_PAGES = [*(FR / p for p in STUDENT_PAGES), ROOT / "docs" / "handout.md"]


@pytest.mark.parametrize("page", LINKED_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_leads_somewhere(page):
    body = re.sub(r"```.*?```", "", text(page), flags=re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", body):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        where = (page.parent / path).resolve() if path else page
        if not where.exists():
            broken.append(target)
        elif anchor and where.suffix == ".md" and anchor not in anchors(where):
            broken.append(target)
    assert not broken, broken


def test_the_french_student_pages_avoid_the_translated_words():
    for name in STUDENT_PAGES:
        body = text(FR / name).lower()
        # Outside code: a command or an identifier may be English.
        prose = re.sub(r"```.*?```|`[^`]*`", "", body, flags=re.S)
        for word in TRANSLATED:
            assert word not in prose, (name, word)
        # « flotte » only where the page defines it; these pages say « la plateforme ».
        assert "flotte" not in prose, name


def test_the_readme_sends_a_french_reader_to_the_french_path():
    readme = text(ROOT / "README.md")
    for page in ("docs/fr/README.md", "docs/fr/exercices.md", "docs/fr/console.md", "docs/fr/depannage.md"):
        assert f"]({page})" in readme, page
