"""The seventeen exercises of the course: id, title, the test that grades it, the task in one
sentence (what the student edition's TODO asks for), and the rubric a teacher grades with:
points (100 in all), difficulty (1 easy, 2 medium, 3 hard), the minutes a student needs, a
hint in English and in French that points the way without giving the answer, and whether the
exercise's tests race writers (graded over several runs: scripts/grade.sh --repeat). Read by
scripts/grade.sh and scripts/student-edition.sh; standard library only, so both run it with
any python3."""

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DIFFICULTY = {1: "easy", 2: "medium", 3: "hard"}
DIFFICULTY_FR = {1: "facile", 2: "moyen", 3: "difficile"}


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    test: str
    task: str
    points: int
    difficulty: int
    minutes: int
    hint_en: str
    hint_fr: str
    task_fr: str
    # Its tests race concurrent writers: a wrong solution can pass one run by luck.
    concurrent: bool = False

    @property
    def path(self) -> Path:
        return HERE / self.test

    def task_in(self, lang: str) -> str:
        return self.task_fr if lang == "fr" else self.task

    def hint(self, lang: str) -> str:
        return self.hint_fr if lang == "fr" else self.hint_en


EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "DB1",
        "business validation before a write (5 % safety margin)",
        "test_db1_safety_margin.py",
        (
            "check a booking: seats > 0 and at most bookable_seats (capacity - booked - the 5 % margin), "
            "then give the new bookedSeats"
        ),
        points=5,
        difficulty=1,
        minutes=15,
        hint_en=(
            "Reuse bookable_seats() from the same file: it already takes the margin off. Each test's "
            "name says which error a bad request expects."
        ),
        hint_fr=(
            "Réutilisez bookable_seats(), dans le même fichier : la marge y est déjà retirée. Le nom "
            "de chaque test dit quelle erreur il attend."
        ),
        task_fr=(
            "vérifier une réservation : places > 0 et au plus bookable_seats (capacité - réservées - "
            "marge de 5 %), puis donner le nouveau bookedSeats"
        ),
    ),
    Exercise(
        "DB2",
        "atomic booking with optimistic locking",
        "test_db2_optimistic_booking.py",
        (
            "write the seat UPDATE so that it writes, moves the version on and returns the row only "
            "when the version read is still current, and changes nothing otherwise"
        ),
        points=10,
        difficulty=3,
        minutes=30,
        concurrent=True,
        hint_en=(
            "The WHERE clause must carry the version read before the write, and the SET must move it "
            "on. An UPDATE that matches no row means: read again and retry."
        ),
        hint_fr=(
            "La clause WHERE doit porter la version lue avant l'écriture, et le SET doit la faire "
            "avancer. Un UPDATE qui ne touche aucune ligne veut dire : relire et recommencer."
        ),
        task_fr=(
            "écrire la mise à jour gardée par la version lue : elle fait avancer la version, renvoie "
            "la ligne, et ne change rien si un autre écrivain est passé entre-temps"
        ),
    ),
    Exercise(
        "DB3",
        "reservation statistics by an aggregation pipeline",
        "test_db3_reservation_stats.py",
        (
            "compute the statistics in one aggregation pipeline ($match then $group with $sum/$cond): "
            "live seats, cancelled and refunded apart, revenue of confirmed only"
        ),
        points=8,
        difficulty=3,
        minutes=30,
        hint_en=(
            "One aggregate() call: first keep only this event's reservations (not the refused holds),"
            " then one $group with a conditional sum per figure."
        ),
        hint_fr=(
            "Un seul appel à aggregate() : gardez d'abord les réservations de l'événement (sans les "
            "refus), puis un seul $group avec une somme conditionnelle par chiffre."
        ),
        task_fr=(
            "calculer les statistiques en un seul pipeline d'agrégation : places vivantes, annulées "
            "et remboursées à part, chiffre d'affaires des seules confirmées"
        ),
    ),
    Exercise(
        "DB4",
        "a timeline entry with each status change, atomically",
        "test_db4_timeline_on_status_change.py",
        "push the timeline entry in the same atomic update as the status change",
        points=5,
        difficulty=2,
        minutes=15,
        hint_en=(
            "The status change and its timeline entry go in one find_one_and_update: add the entry to"
            " the same update document, never in a second call."
        ),
        hint_fr=(
            "Le changement de statut et son entrée d'historique tiennent dans un seul "
            "find_one_and_update : ajoutez l'entrée au même document de mise à jour, jamais dans un "
            "second appel."
        ),
        task_fr=(
            "ajouter l'entrée d'historique dans la même mise à jour atomique que le changement de statut"
        ),
    ),
    Exercise(
        "POLY1",
        "a Redis cache manager that never breaks a request",
        "test_poly1_cache_manager.py",
        "set a key with a TTL; a Redis fault never escapes: it is counted and the answer is False",
        points=5,
        difficulty=2,
        minutes=20,
        hint_en=(
            "Catch Redis errors inside the method, count them and answer False: a cache fault must "
            "never become a 500."
        ),
        hint_fr=(
            "Attrapez les erreurs Redis dans la méthode, comptez-les et renvoyez False : une panne du"
            " cache ne doit jamais devenir une erreur 500."
        ),
        task_fr=(
            "écrire une clé avec un TTL ; une panne de Redis ne sort jamais : elle est comptée et la "
            "réponse est False"
        ),
    ),
    Exercise(
        "POLY2",
        "a payment cached as JSON under payment:{id}, TTL 3600 s",
        "test_poly2_payment_cache_key.py",
        (
            "write the payment as JSON under payment:{id} with the TTL, never over a newer version "
            "(set_if_newer)"
        ),
        points=5,
        difficulty=1,
        minutes=10,
        hint_en=(
            "The key is payment:{id}, the value compact JSON, the TTL the cache's own. The manager "
            "already has a method that never writes over a newer version."
        ),
        hint_fr=(
            "La clé est payment:{id}, la valeur du JSON compact, le TTL celui du cache. Le "
            "gestionnaire a déjà une méthode qui n'écrase jamais une version plus récente."
        ),
        task_fr=(
            "écrire le paiement en JSON sous payment:{id} avec le TTL, jamais par-dessus une version "
            "plus récente (set_if_newer)"
        ),
    ),
    Exercise(
        "POLY3",
        "cache-aside reads, invalidation, version-guarded fill",
        "test_poly3_cache_aside.py",
        (
            "answer a payment cache-aside: the cached answer on a hit, else read PostgreSQL, fill the "
            "cache and answer"
        ),
        points=8,
        difficulty=2,
        minutes=25,
        concurrent=True,
        hint_en=(
            "Read the cache first; on a miss read PostgreSQL, fill the cache, answer what the "
            "database said. A cache that fails counts as a miss, never as an error."
        ),
        hint_fr=(
            "Lisez d'abord le cache. S'il ne répond rien, lisez PostgreSQL, remplissez le cache et "
            "renvoyez ce que dit la base. Un cache en panne compte comme un cache vide, jamais comme "
            "une erreur."
        ),
        task_fr=(
            "lire un paiement en cache-aside : la réponse du cache s'il l'a, sinon PostgreSQL, puis "
            "remplir le cache et répondre"
        ),
    ),
    Exercise(
        "POLY4",
        "occupancy rate",
        "test_poly4_occupancy_rate.py",
        (
            "compute occupancy = booked / capacity x 100 rounded half up to two decimals, 0 for a "
            "capacity of 0, capped at 100"
        ),
        points=3,
        difficulty=1,
        minutes=10,
        hint_en=(
            "Decimal, not float, for the rounding. Think of a capacity of 0 and of more seats booked "
            "than the capacity."
        ),
        hint_fr=(
            "Decimal, pas float, pour l'arrondi. Pensez à une capacité nulle et à plus de places "
            "réservées que la capacité."
        ),
        task_fr=(
            "calculer le taux de remplissage réservées / capacité x 100, arrondi au centième (demi "
            "vers le haut), 0 pour une capacité nulle, 100 au plus"
        ),
    ),
    Exercise(
        "POLY5",
        "the search document updated in real time from messages",
        "test_poly5_realtime_metrics.py",
        (
            "give the search document after an event message, or None when the message is not newer than "
            "the stored version"
        ),
        points=5,
        difficulty=2,
        minutes=20,
        hint_en=(
            "Compare the message's version with the stored one before building the new document: an "
            "old or repeated message changes nothing."
        ),
        hint_fr=(
            "Comparez la version du message à celle du document stocké avant de construire le nouveau"
            " : un message ancien ou rejoué ne change rien."
        ),
        task_fr=(
            "donner le document de recherche après un message, ou None si le message n'est pas plus "
            "récent que la version stockée"
        ),
    ),
    Exercise(
        "SAGA1",
        "start and orchestrate a saga (202, log before each step)",
        "test_saga1_start_and_orchestrate.py",
        (
            "write the new saga to the durable log (self._create) and drive it in the background when it "
            "was created"
        ),
        points=6,
        difficulty=2,
        minutes=20,
        concurrent=True,
        hint_en=(
            "Write the saga to the log first (self._create). Start the background run only when this "
            "call created it: a retried request must not start a second run."
        ),
        hint_fr=(
            "Écrivez d'abord la saga dans le journal (self._create). Ne lancez l'exécution en tâche "
            "de fond que si cet appel l'a créée : une requête rejouée ne lance pas une seconde "
            "exécution."
        ),
        task_fr=(
            "écrire la nouvelle saga dans le journal durable (self._create) et la lancer en tâche de "
            "fond si cet appel l'a créée"
        ),
    ),
    Exercise(
        "SAGA2",
        "the distributed reservation step",
        "test_saga2_reservation_step.py",
        (
            "create the pending reservation through the reservation service under the key "
            "<sagaId>:CREATE_RESERVATION, at the price the saga checked"
        ),
        points=6,
        difficulty=2,
        minutes=20,
        hint_en=(
            "Call the reservation service with the idempotency key <sagaId>:CREATE_RESERVATION and "
            "the price the saga checked: a retried step creates nothing twice."
        ),
        hint_fr=(
            "Appelez le service de réservation avec la clé d'idempotence <sagaId>:CREATE_RESERVATION "
            "et le prix vérifié par la saga : une étape rejouée ne crée rien deux fois."
        ),
        task_fr=(
            "créer la réservation en attente via le service de réservation, sous la clé "
            "<sagaId>:CREATE_RESERVATION, au prix vérifié par la saga"
        ),
    ),
    Exercise(
        "SAGA3",
        "the distributed payment step",
        "test_saga3_payment_step.py",
        "charge the saga's amount through the payment service under the key <sagaId>:PROCESS_PAYMENT",
        points=6,
        difficulty=2,
        minutes=20,
        hint_en=(
            "Call the payment service with the key <sagaId>:PROCESS_PAYMENT and the saga's amount: a "
            "retried step never charges twice."
        ),
        hint_fr=(
            "Appelez le service de paiement avec la clé <sagaId>:PROCESS_PAYMENT et le montant de la "
            "saga : une étape rejouée ne débite jamais deux fois."
        ),
        task_fr=(
            "débiter le montant de la saga via le service de paiement, sous la clé <sagaId>:PROCESS_PAYMENT"
        ),
    ),
    Exercise(
        "SAGA4",
        "compensations in reverse order",
        "test_saga4_compensation_reverse_order.py",
        "list the compensations still to run, in reverse order of the steps that succeeded or may have acted",
        points=7,
        difficulty=3,
        minutes=30,
        hint_en=(
            "Walk the steps backwards. Undo those that succeeded or whose outcome is unknown; skip "
            "those the participant refused and those already compensated."
        ),
        hint_fr=(
            "Parcourez les étapes à l'envers. Annulez celles qui ont réussi ou dont on ignore l'issue"
            " ; laissez celles que le participant a refusées et celles déjà compensées."
        ),
        task_fr=(
            "lister les compensations qui restent à faire, dans l'ordre inverse des étapes réussies "
            "ou qui ont pu agir"
        ),
    ),
    Exercise(
        "ES1",
        "an aggregate's history after a version",
        "test_es1_aggregate_history.py",
        "read the aggregate's events after fromVersion, ascending by version, at most limit of them",
        points=5,
        difficulty=1,
        minutes=15,
        hint_en=(
            "One find on the aggregate with version greater than fromVersion, sorted by version "
            "ascending, with the limit."
        ),
        hint_fr=(
            "Un seul find sur l'agrégat, avec une version strictement supérieure à fromVersion, trié "
            "par version croissante, avec la limite."
        ),
        task_fr=("lire les événements de l'agrégat après fromVersion, par version croissante, au plus limit"),
    ),
    Exercise(
        "ES2",
        "events of a type in a time range",
        "test_es2_events_by_type.py",
        (
            "read the events of a type (in its one spelling, event_type_name) with occurredAt in "
            "[fromDate, toDate], newest first, at most limit"
        ),
        points=5,
        difficulty=2,
        minutes=20,
        hint_en=(
            "Match every spelling of the type (a helper in domain.py lists them) and the date range, "
            "bounds included; newest first."
        ),
        hint_fr=(
            "Cherchez toutes les écritures du type (une fonction de domain.py les donne) et la plage "
            "de dates, bornes comprises ; les plus récents d'abord."
        ),
        task_fr=(
            "lire les événements d'un type (quelle que soit son écriture) avec occurredAt dans "
            "[fromDate, toDate], les plus récents d'abord, au plus limit"
        ),
    ),
    Exercise(
        "ES3",
        "version consistency (expected = current + 1, else 409)",
        "test_es3_version_consistency.py",
        "refuse an append whose expectedVersion is not the current version with a VersionConflict (409)",
        points=8,
        difficulty=2,
        minutes=15,
        concurrent=True,
        hint_en=(
            "Compare the expected version with the current one: any difference is a VersionConflict "
            "that carries both."
        ),
        hint_fr=(
            "Comparez la version attendue à la version courante : toute différence est un "
            "VersionConflict qui porte les deux."
        ),
        task_fr=(
            "refuser un ajout dont expectedVersion n'est pas la version courante : VersionConflict (409)"
        ),
    ),
    Exercise(
        "REST1",
        "POST /api/events/{id}/book",
        "test_rest1_book_endpoint.py",
        (
            "check the seats of a book or release body: a positive whole number, else InvalidSeats (400 "
            "Invalid number of seats)"
        ),
        points=3,
        difficulty=1,
        minutes=15,
        hint_en=(
            'Check the type before the value: in Python a bool is an int, 2.0 is a whole number, "3" '
            "is not a number."
        ),
        hint_fr=(
            "Vérifiez le type avant la valeur : en Python un bool est un int, 2.0 est un nombre "
            'entier, "3" n\'est pas un nombre.'
        ),
        task_fr=(
            "vérifier le nombre de places d'une réservation ou d'une libération : un entier positif, "
            "sinon InvalidSeats (400 Invalid number of seats)"
        ),
    ),
)

BY_ID = {e.id: e for e in EXERCISES}
MAX_POINTS = sum(e.points for e in EXERCISES)
