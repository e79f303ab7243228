"""The seventeen exercises of the course: id, title, the test that grades it, the task in one
sentence (what the student edition's TODO asks for), and the rubric a teacher grades with:
points (100 in all), difficulty (1 easy, 2 medium, 3 hard), the minutes a student needs, a
hint in English and in French that points the way without giving the answer, and whether the
exercise's tests race writers (graded over several runs: scripts/grade.sh --repeat). Each
exercise exists at two levels (scripts/student-edition.sh --level 1|2): level 1 a fill-in
inside the pattern, level 2 the whole piece (LEVEL_2 below: its task, hints, difficulty and
minutes; the points stay the same). `size` is the solution's lines each level removes, as
the generator counts them (a unit test keeps them equal). Read by
scripts/grade.sh and scripts/student-edition.sh; standard library only, so both run it with
any python3."""

from dataclasses import dataclass, replace
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
    # The solution's lines removed at level 1 and at level 2 (see SIZES).
    size: tuple[int, int] = (0, 0)
    level2: "Level2 | None" = None

    @property
    def path(self) -> Path:
        return HERE / self.test

    def task_in(self, lang: str, level: int = 1) -> str:
        return self.task_fr_at(level) if lang == "fr" else self.task_at(level)

    def task_at(self, level: int) -> str:
        return self.level2.task if level == 2 and self.level2 else self.task

    def task_fr_at(self, level: int) -> str:
        return self.level2.task_fr if level == 2 and self.level2 else self.task_fr

    def hint(self, lang: str, level: int = 1) -> str:
        if level == 2 and self.level2:
            return self.level2.hint_fr if lang == "fr" else self.level2.hint_en
        return self.hint_fr if lang == "fr" else self.hint_en

    def difficulty_at(self, level: int) -> int:
        return self.level2.difficulty if level == 2 and self.level2 else self.difficulty

    def minutes_at(self, level: int) -> int:
        return self.level2.minutes if level == 2 and self.level2 else self.minutes


@dataclass(frozen=True)
class Level2:
    """The exercise as a whole piece to write (its `# exercise <ID>, level 2:` regions)."""

    task: str
    task_fr: str
    difficulty: int
    minutes: int
    hint_en: str
    hint_fr: str


_LEVEL_1: tuple[Exercise, ...] = (
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

LEVEL_2: dict[str, Level2] = {
    "DB1": Level2(
        "write the booking and release rules: seats > 0, at most the bookable seats (the 5 % margin "
        "kept free), never below zero nor more than were booked; give the new bookedSeats",
        "écrire les règles de réservation et de libération : places > 0, au plus les places "
        "réservables (la marge de 5 % reste libre), jamais sous zéro ni plus que réservé ; donner "
        "le nouveau bookedSeats",
        1,
        20,
        "book() and release() each answer the new bookedSeats or raise the domain's error; the "
        "exceptions already exist in the same file, and bookable_seats() takes the margin off.",
        "book() et release() renvoient le nouveau bookedSeats ou lèvent l'erreur du domaine ; les "
        "exceptions existent déjà dans le même fichier, et bookable_seats() retire la marge.",
    ),
    "DB2": Level2(
        "write optimistic locking in PostgreSQL: the UPDATE guarded by the version read (it moves "
        "the version on and returns the row), the repository's write that runs it, and the retry "
        "loop of the use case (read, apply the rule, write, read again when the version moved, "
        "give up with EventBusy after max_attempts)",
        "écrire le verrouillage optimiste dans PostgreSQL : l'UPDATE gardé par la version lue (il "
        "fait avancer la version et renvoie la ligne), l'écriture du dépôt qui l'exécute, et la "
        "boucle de reprise du cas d'usage (lire, appliquer la règle, écrire, relire si la version a "
        "bougé, abandonner avec EventBusy après max_attempts)",
        3,
        75,
        "Three places: the UPDATE (a WHERE on id and on the version read), write() that executes "
        "the seat statement and says whether a row came back, and _change_seats() that reads, "
        "writes and retries with _pause() between attempts. Keep the replayed answer of an "
        "Idempotency-Key: read() already returns it.",
        "Trois endroits : l'UPDATE (un WHERE sur l'id et sur la version lue), write() qui exécute "
        "l'instruction et dit si une ligne est revenue, et _change_seats() qui lit, écrit et "
        "recommence avec _pause() entre deux essais. Gardez la réponse rejouée d'une "
        "Idempotency-Key : read() la renvoie déjà.",
    ),
    "DB3": Level2(
        "write the reservation statistics of an event as one MongoDB aggregation pipeline and "
        "shape its answer (zeros when there is no reservation, revenue as a Decimal)",
        "écrire les statistiques de réservation d'un événement en un seul pipeline d'agrégation "
        "MongoDB et mettre en forme la réponse (des zéros s'il n'y a aucune réservation, le chiffre "
        "d'affaires en Decimal)",
        3,
        45,
        "One aggregate() call: a first stage keeps the event's reservations (not the refused "
        "holds), a second groups them all with one conditional sum per figure. No row comes back "
        "when nothing matched.",
        "Un seul appel à aggregate() : une première étape garde les réservations de l'événement "
        "(sans les refus), une seconde les regroupe toutes avec une somme conditionnelle par "
        "chiffre. Aucune ligne ne revient quand rien ne correspond.",
    ),
    "DB4": Level2(
        "write the status change of a reservation in MongoDB: the conditional find_one_and_update "
        "on the version read (new version, timeline entry and outgoing message in the same write) "
        "and the use case's loop that judges the transition again when another writer came first",
        "écrire le changement de statut d'une réservation dans MongoDB : le find_one_and_update "
        "conditionné par la version lue (nouvelle version, entrée d'historique et message sortant "
        "dans la même écriture) et la boucle du cas d'usage qui rejuge la transition quand un autre "
        "écrivain est passé avant",
        2,
        40,
        "The filter holds the id and the version read; the update document holds $set, $push (the "
        "timeline entry, the outbox message) and $unset together. None back means: read again and "
        "judge again, a few times at most.",
        "Le filtre porte l'id et la version lue ; le document de mise à jour réunit $set, $push "
        "(l'entrée d'historique, le message de l'outbox) et $unset. Un None en retour veut dire : "
        "relire et rejuger, quelques fois au plus.",
    ),
    "POLY1": Level2(
        "write the Redis cache manager's get, set, delete, exists and ttl: each answers like a "
        "miss when Redis fails, counts the fault and never lets it escape",
        "écrire get, set, delete, exists et ttl du gestionnaire de cache Redis : chacune répond "
        "comme un cache vide quand Redis tombe, compte la panne et ne la laisse jamais sortir",
        2,
        30,
        "Every method starts with _usable() and wraps its one Redis call in try/except "
        "CACHE_FAULTS, calling _fault() with its operation's name. get() also counts hits and "
        "misses.",
        "Chaque méthode commence par _usable() et entoure son unique appel Redis d'un try/except "
        "CACHE_FAULTS qui appelle _fault() avec le nom de l'opération. get() compte aussi les "
        "succès et les échecs de lecture.",
    ),
    "POLY2": Level2(
        "write the payment cache: the key payment:{id}, the cached answer read back (an unreadable "
        "entry is dropped as a miss) and written as compact JSON with the TTL, never over a newer "
        "version",
        "écrire le cache des paiements : la clé payment:{id}, la réponse relue (une entrée "
        "illisible est supprimée et compte comme absente) et écrite en JSON compact avec le TTL, "
        "jamais par-dessus une version plus récente",
        2,
        25,
        "get_answer() gives the bytes as stored and the parsed document; a value that is not a "
        "JSON object with an integer version is deleted. put() goes through set_if_newer.",
        "get_answer() renvoie les octets tels que stockés et le document lu ; une valeur qui n'est "
        "pas un objet JSON avec une version entière est supprimée. put() passe par set_if_newer.",
    ),
    "POLY3": Level2(
        "write cache-aside for payments: the GET reads Redis first, on a miss PostgreSQL then "
        "fills the cache; a change rewrites the cached answer; the fill never writes over a newer "
        "version",
        "écrire le cache-aside des paiements : le GET lit d'abord Redis, sinon PostgreSQL puis "
        "remplit le cache ; un changement réécrit la réponse en cache ; le remplissage n'écrase "
        "jamais une version plus récente",
        3,
        40,
        "Three places: the GET route (hit: send the cached bytes with their ETag; miss: read, "
        "answer, fill), _answer() after a committed change, and set_if_newer() (the Lua script "
        "compares versions; when Redis is down, remember the write).",
        "Trois endroits : la route GET (présent : renvoyer les octets en cache avec leur ETag ; "
        "absent : lire, répondre, remplir), _answer() après un changement validé, et "
        "set_if_newer() (le script Lua compare les versions ; Redis en panne : garder l'écriture "
        "pour plus tard).",
    ),
    "POLY4": Level2(
        "write the occupancy rate (booked / capacity x 100, two decimals half up, 0 without "
        "capacity, at most 100) and the document's derived availableSeats and occupancyRate",
        "écrire le taux de remplissage (réservées / capacité x 100, au centième, demi vers le "
        "haut, 0 sans capacité, 100 au plus) et les champs dérivés availableSeats et occupancyRate",
        1,
        15,
        "Decimal, not float, for the rounding; the document keeps an availableSeats the message "
        "gave, else derives it, never below zero.",
        "Decimal, pas float, pour l'arrondi ; le document garde l'availableSeats donné par le "
        "message, sinon il le calcule, jamais sous zéro.",
    ),
    "POLY5": Level2(
        "write the real-time read model in OpenSearch: the document after an event message (or "
        "None when stale), the conditional index on _seq_no/_primary_term, and the read-decide-"
        "write loop that reads again when another writer came first",
        "écrire le modèle de lecture temps réel dans OpenSearch : le document après un message "
        "(ou None s'il est périmé), l'indexation conditionnelle sur _seq_no/_primary_term, et la "
        "boucle lire-décider-écrire qui relit quand un autre écrivain est passé avant",
        3,
        50,
        "apply_event compares the message's version with the stored one (a tombstone wins at an "
        "equal version). write_event passes if_seq_no/if_primary_term, or op_type create when "
        "there was no document; a ConflictError means False. change_event loops a bounded number "
        "of times.",
        "apply_event compare la version du message à celle stockée (une pierre tombale gagne à "
        "version égale). write_event passe if_seq_no/if_primary_term, ou op_type create s'il n'y "
        "avait pas de document ; une ConflictError veut dire False. change_event boucle un nombre "
        "borné de fois.",
    ),
    "SAGA1": Level2(
        "write the saga's execution: start it (write it to the durable log, drive it once), drive "
        "it turn by turn, commit each step before its call and record its outcome (beginning the "
        "next step in the same transaction)",
        "écrire l'exécution de la saga : la démarrer (l'écrire dans le journal durable, la lancer "
        "une fois), la conduire tour après tour, enregistrer chaque étape avant son appel et noter "
        "son issue (en commençant l'étape suivante dans la même transaction)",
        3,
        90,
        "The log decides everything: decide() gives the next action from the status and the step "
        "records; store.begin() before each call, store.finish() after; a saga this process does "
        "not own is left alone.",
        "Le journal décide de tout : decide() donne l'action suivante à partir du statut et des "
        "étapes ; store.begin() avant chaque appel, store.finish() après ; une saga qui "
        "n'appartient pas à ce processus n'est pas touchée.",
    ),
    "SAGA2": Level2(
        "write the reservation steps: book the seats at the event service, create the pending "
        "reservation, confirm it once paid; each call under the key <sagaId>:<STEP>",
        "écrire les étapes de réservation : réserver les places auprès du service d'événements, "
        "créer la réservation en attente, la confirmer une fois payée ; chaque appel sous la clé "
        "<sagaId>:<ÉTAPE>",
        2,
        40,
        "Each step is one HTTP call with key(saga.id, step) as its Idempotency-Key; "
        "_step_outcome() turns the answer into an Outcome. A 409 on confirm may be our own earlier "
        "confirmation: read the reservation.",
        "Chaque étape est un appel HTTP avec key(saga.id, étape) comme Idempotency-Key ; "
        "_step_outcome() transforme la réponse en Outcome. Un 409 à la confirmation peut venir de "
        "notre propre confirmation précédente : relisez la réservation.",
    ),
    "SAGA3": Level2(
        "write the payment step: charge the saga's amount under <sagaId>:PROCESS_PAYMENT (nothing "
        "for a free event) and turn the payment into an outcome: completed, declined, or not "
        "decided yet (uncertain)",
        "écrire l'étape de paiement : débiter le montant de la saga sous <sagaId>:PROCESS_PAYMENT "
        "(rien pour un événement gratuit) et traduire le paiement en issue : payé, refusé, ou pas "
        "encore décidé (incertain)",
        2,
        35,
        "A pending payment is neither a success nor a refusal: an uncertain outcome, asked again "
        "later. Record the payment id in the outcome's fields.",
        "Un paiement en attente n'est ni un succès ni un refus : c'est une issue incertaine, "
        "redemandée plus tard. Gardez l'id du paiement dans les champs de l'issue.",
    ),
    "SAGA4": Level2(
        "write the compensations: the plan (reverse order, steps that succeeded or may have "
        "acted), running one and recording it, and the three calls that undo (refund, cancel the "
        "reservation, release the seats), fencing a key whose call got no answer",
        "écrire les compensations : le plan (ordre inverse, étapes réussies ou qui ont pu agir), "
        "l'exécution d'une compensation et son enregistrement, et les trois appels qui défont "
        "(rembourser, annuler la réservation, libérer les places), en bloquant la clé d'un appel "
        "resté sans réponse",
        3,
        75,
        "Walk the steps backwards. A step whose call got no answer may have acted: fence its key "
        "(_made_after_all) before undoing, so a late copy can never act after the undo.",
        "Parcourez les étapes à l'envers. Une étape restée sans réponse a pu agir : bloquez sa clé "
        "(_made_after_all) avant de défaire, pour qu'une copie tardive n'agisse jamais après.",
    ),
    "ES1": Level2(
        "write the aggregate's head (latest version and type) and history after a version, "
        "ascending, at most limit, from MongoDB",
        "écrire la tête de l'agrégat (dernière version et type) et son historique après une "
        "version, croissant, au plus limit, depuis MongoDB",
        1,
        25,
        "The head is the aggregate's event with the highest version (one find_one, sorted "
        "descending); the history one find, sorted ascending, limited.",
        "La tête est l'événement de l'agrégat de plus haute version (un find_one trié par version "
        "décroissante) ; l'historique un find trié par version croissante, avec la limite.",
    ),
    "ES2": Level2(
        "write the search of events by type and time range: the date bounds (both included), the "
        "one spelling of the type, newest first, at most limit",
        "écrire la recherche d'événements par type et par période : les bornes de dates (comprises),"
        " l'écriture unique du type, les plus récents d'abord, au plus limit",
        2,
        25,
        "Build the date filter only from the bounds that are given; event_type_name() gives the "
        "stored spelling.",
        "Construisez le filtre de dates avec les seules bornes données ; event_type_name() donne "
        "l'écriture stockée.",
    ),
    "ES3": Level2(
        "write the event store's append: the next version (expectedVersion checked, 409 when "
        "stale), the insert that the unique (aggregateId, version) index may refuse, and the "
        "retry when another process took the version",
        "écrire l'ajout dans le magasin d'événements : la version suivante (expectedVersion "
        "vérifiée, 409 si périmée), l'insertion que l'index unique (aggregateId, version) peut "
        "refuser, et la reprise quand un autre processus a pris la version",
        3,
        60,
        "Never read-then-trust: the unique index is the arbiter. An insert refused means either "
        "this very event is already stored (answer it, created False) or someone took the version "
        "(with an expectedVersion: 409; without: back off and aim at the next one).",
        "Ne faites pas confiance à une lecture : l'index unique tranche. Une insertion refusée "
        "veut dire que cet événement est déjà là (le renvoyer, created False) ou qu'un autre a "
        "pris la version (avec expectedVersion : 409 ; sans : attendre un peu et viser la "
        "suivante).",
    ),
    "REST1": Level2(
        "write the check of a book or release body's seats: a positive whole number (2.0 is, "
        'true and "3" are not), at most the per-request limit, else InvalidSeats (400)',
        "écrire la vérification des places d'une réservation ou d'une libération : un entier "
        'positif (2.0 en est un, true et "3" non), au plus la limite par requête, sinon '
        "InvalidSeats (400)",
        1,
        20,
        'Check the type before the value: in Python a bool is an int, 2.0 is a whole number, "3" '
        "is not a number; MAX_SEATS_PER_REQUEST is the limit.",
        "Vérifiez le type avant la valeur : en Python un bool est un int, 2.0 est un nombre "
        'entier, "3" n\'est pas un nombre ; MAX_SEATS_PER_REQUEST est la limite.',
    ),
}

# Lines of the solution removed (level 1, level 2), as scripts/student-edition.sh counts them;
# tests/unit/test_exercise_regions.py fails when a region changes and these do not.
SIZES: dict[str, tuple[int, int]] = {
    "DB1": (6, 13),
    "DB2": (8, 72),
    "DB3": (38, 55),
    "DB4": (2, 56),
    "POLY1": (8, 42),
    "POLY2": (3, 19),
    "POLY3": (9, 19),
    "POLY4": (4, 13),
    "POLY5": (5, 45),
    "SAGA1": (13, 136),
    "SAGA2": (27, 47),
    "SAGA3": (13, 31),
    "SAGA4": (11, 76),
    "ES1": (8, 24),
    "ES2": (7, 15),
    "ES3": (2, 56),
    "REST1": (13, 17),
}

EXERCISES: tuple[Exercise, ...] = tuple(
    replace(e, size=SIZES.get(e.id, (0, 0)), level2=LEVEL_2[e.id]) for e in _LEVEL_1
)

BY_ID = {e.id: e for e in EXERCISES}
MAX_POINTS = sum(e.points for e in EXERCISES)
