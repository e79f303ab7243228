"""What `fleet` tells a student, in English and in French: one catalogue, the language chosen
once from the locale (as scripts/grade.py chooses its hints'), English by default.

Standard library only: scripts/grade.py, which runs with any python3, reads `language` from
here too, so the fleet and the grader always agree on the language.

    from fleetctl.messages import say
    print(say("start.running", name="event_service"))
"""

import os
from collections.abc import Mapping

LANGUAGES = ("en", "fr")


def language(environ: Mapping[str, str] = os.environ) -> str:
    """French when the locale says so, else English. The first of LC_ALL, LC_MESSAGES, LANG
    that is set decides, as in the C library: LC_ALL=C over LANG=fr_FR means English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"


# key -> {language: text}; the fields in braces are the same in both languages (a unit test
# checks it). The French is written for the course's students, not translated word for word.
MESSAGES: dict[str, dict[str, str]] = {
    # fleet start / stop / restart / status / tokens
    "start.running": {
        "en": "  {name:<22} already running",
        "fr": "  {name:<22} déjà en marche",
    },
    "start.started": {
        "en": "  {name:<22} started (pid {pid}, port {port})",
        "fr": "  {name:<22} démarré (pid {pid}, port {port})",
    },
    "start.ready": {
        "en": "  all {count} selected services ready",
        "fr": "  les {count} services demandés sont prêts",
    },
    "start.exited": {
        "en": "{name} exited; see {log}",
        "fr": "{name} s'est arrêté ; voir {log}",
    },
    "start.not_ready": {
        "en": "not ready after {seconds:.0f} s: {names}",
        "fr": "pas prêt après {seconds:.0f} s : {names}",
    },
    "start.instances": {
        "en": "--instances applies to {names} only",
        "fr": "--instances ne vaut que pour {names}",
    },
    "start.unknown": {
        "en": "unknown service(s): {names}; known: {known}",
        "fr": "service(s) inconnu(s) : {names} ; connus : {known}",
    },
    "start.slow": {
        "en": "restarting saga_orchestrator with SAGA_STEP_DELAY_MS={slow} ...",
        "fr": "redémarrage de saga_orchestrator avec SAGA_STEP_DELAY_MS={slow}…",
    },
    "start.stopping": {"en": "stopping services ...", "fr": "arrêt des services…"},
    "start.starting": {"en": "starting services ...", "fr": "démarrage des services…"},
    "tokens.where": {
        "en": "tokens: {path} (SERVICE_TOKEN, OPERATOR_TOKEN; never commit it)",
        "fr": "jetons : {path} (SERVICE_TOKEN, OPERATOR_TOKEN ; ne le committez jamais)",
    },
    "status.header": {
        "en": "{service:<22} {port:>5}  {pid:>7}  {ready:<6} {url:<26} store",
        "fr": "{service:<22} {port:>5}  {pid:>7}  {ready:<6} {url:<26} base",
    },
    "status.service": {"en": "service", "fr": "service"},
    "status.ready": {"en": "ready", "fr": "prêt"},
    "status.yes": {"en": "yes", "fr": "oui"},
    "status.no": {"en": "no", "fr": "non"},
    # The marker stays in English in both: scripts and tests look for it, and no one may miss it.
    "status.faults": {
        "en": "  TEACHING FAULTS ON: {faults}",
        "fr": "  TEACHING FAULTS ON: {faults} (défaut volontaire activé)",
    },
    "status.console": {"en": "Fleet console: {url}", "fr": "Console de la plateforme : {url}"},
    "status.rabbitmq": {
        "en": "RabbitMQ management UI: http://127.0.0.1:15672 (guest/guest); API docs: <url>/docs",
        "fr": "Interface de gestion RabbitMQ : http://127.0.0.1:15672 (guest/guest) ; "
        "documentation des API : <url>/docs",
    },
    # fleet lab
    "lab.list": {
        "en": "{name:<24} {pattern}; invariant: {invariant}",
        "fr": "{name:<24} {pattern} ; invariant : {invariant}",
    },
    "lab.unknown": {
        "en": "unknown lab {name!r}; known: {known}",
        "fr": "lab inconnu {name!r} ; labs connus : {known}",
    },
    "lab.with_fault": {
        "en": "{name} with TEACHING_FAULTS={fault}:",
        "fr": "{name} avec TEACHING_FAULTS={fault} :",
    },
    "lab.without_fault": {"en": "{name} without the fault:", "fr": "{name} sans le défaut :"},
    "lab.invariant": {"en": "invariant: {invariant}", "fr": "invariant : {invariant}"},
    "lab.broke": {"en": "with the fault it broke", "fr": "avec le défaut, il est violé"},
    "lab.held_anyway": {
        "en": "with the fault it still held this time",
        "fr": "avec le défaut, il a tenu cette fois-ci",
    },
    "lab.held": {"en": "without the fault it held", "fr": "sans le défaut, il tient"},
    "lab.broke_too": {"en": "without the fault it broke too", "fr": "sans le défaut, il est violé aussi"},
    # The labs themselves (fleetctl/labs.py LABS): the pattern each teaches, the invariant it checks.
    "lab.lost-update.pattern": {
        "en": "optimistic locking (DB2): a write only if the version read is still current",
        "fr": "verrouillage optimiste (DB2) : on n'écrit que si la version lue est toujours la bonne",
    },
    "lab.lost-update.invariant": {
        "en": "bookedSeats equals the number of confirmed bookings",
        "fr": "bookedSeats vaut le nombre de réservations confirmées",
    },
    "lab.no-idempotency.pattern": {
        "en": "idempotency keys: a retried request replays the first answer",
        "fr": "clés d'idempotence : une requête rejouée reçoit la première réponse",
    },
    "lab.no-idempotency.invariant": {
        "en": "a retried payment step gets back the payment its first attempt made",
        "fr": "une étape de paiement rejouée retrouve le paiement de sa première tentative",
    },
    "lab.no-compensation.pattern": {
        "en": "the saga's compensations (SAGA4): a failed step undoes the steps before it",
        "fr": "les compensations de la saga (SAGA4) : une étape en échec défait les étapes d'avant",
    },
    "lab.no-compensation.invariant": {
        "en": "after a declined payment, no seat stays booked and no reservation stays pending",
        "fr": "après un paiement refusé, aucune place ne reste prise et aucune réservation en attente",
    },
    "lab.no-event-store-occ.pattern": {
        "en": "optimistic concurrency in the event store (ES1/ES3): one event per version",
        "fr": "concurrence optimiste dans l'event store (ES1/ES3) : un seul événement par version",
    },
    "lab.no-event-store-occ.invariant": {
        "en": "an aggregate's versions are 1..n, each exactly once",
        "fr": "les versions d'un agrégat vont de 1 à n, chacune une seule fois",
    },
    "lab.forgetful-orchestrator.pattern": {
        "en": "the saga's durable log and its recovery: another process resumes a dead one's sagas",
        "fr": "le journal durable des sagas et la reprise : un autre processus reprend les sagas "
        "d'un orchestrateur mort",
    },
    "lab.forgetful-orchestrator.invariant": {
        "en": "a booking whose orchestrator was killed mid-saga still ends (completed or compensated)",
        "fr": "une réservation dont l'orchestrateur est tué en pleine saga se termine quand même "
        "(COMPLETED ou COMPENSATED)",
    },
    "lab.no-outbox.pattern": {
        "en": "the transactional outbox: a message is stored with its change, and sent until it is",
        "fr": "l'outbox transactionnelle : le message est enregistré avec la modification, et "
        "renvoyé tant que RabbitMQ ne l'a pas pris",
    },
    "lab.no-outbox.invariant": {
        "en": "every booking confirmed during a broker outage reaches the event store once it ends",
        "fr": "chaque réservation confirmée pendant une panne de RabbitMQ arrive dans l'event store "
        "une fois la panne finie",
    },
    "lab.stale-cache.pattern": {
        "en": "cache-aside with invalidation on change (POLY3)",
        "fr": "cache-aside, invalidé à chaque modification (POLY3)",
    },
    "lab.stale-cache.invariant": {
        "en": "a read after a refund says refunded",
        "fr": "une lecture après un remboursement répond refunded",
    },
    # fleet lab: each step of a lab's scenario (fleetctl/labs.py)
    "step.fault_on": {
        "en": "/health of {services}: teaching fault {fault} on",
        "fr": "/health de {services} : défaut {fault} activé",
    },
    "step.fault_off": {
        "en": "/health of {services}: teaching fault {fault} off",
        "fr": "/health de {services} : défaut {fault} désactivé",
    },
    "step.error": {
        "en": "the scenario could not run: {error}",
        "fr": "le scénario n'a pas pu se dérouler : {error}",
    },
    "step.lu.created": {
        "en": "event {id} created with 1000 seats, none booked",
        "fr": "événement {id} créé avec 1000 places, aucune réservée",
    },
    "step.lu.raced": {
        "en": "{racers} bookings of one seat raced: {confirmed} were confirmed (200)",
        "fr": "{racers} réservations d'une place envoyées en même temps : {confirmed} confirmées (200)",
    },
    "step.lu.booked": {
        "en": "bookedSeats is {booked} for {confirmed} confirmed bookings",
        "fr": "bookedSeats vaut {booked} pour {confirmed} réservations confirmées",
    },
    "step.lu.lost": {
        "en": ": {lost} sold seats were overwritten (lost updates)",
        "fr": " : {lost} places vendues ont été écrasées (mises à jour perdues)",
    },
    "step.ni.charged": {
        "en": "the payment step charged 15000 XOF for {reservation}: payment {paid}",
        "fr": "l'étape de paiement a débité 15000 XOF pour {reservation} : paiement {paid}",
    },
    "step.ni.replayed": {
        "en": "the retry with the same Idempotency-Key replayed payment {paid}: no second charge",
        "fr": "la seconde tentative, avec la même Idempotency-Key, a reçu le paiement {paid} : "
        "pas de second débit",
    },
    "step.ni.new": {
        "en": "the retry was taken for a new charge and answered {status} ({detail}): "
        "the step cannot learn it already paid",
        "fr": "la seconde tentative a été prise pour un nouveau débit et a répondu {status} ({detail}) : "
        "l'étape ne peut pas savoir qu'elle a déjà payé",
    },
    "step.nc.event": {
        "en": "event {id}: 10 seats at 600 000 XOF",
        "fr": "événement {id} : 10 places à 600 000 XOF",
    },
    "step.nc.started": {
        "en": "booking saga {saga} started for 2 seats (1 200 000 XOF)",
        "fr": "saga de réservation {saga} démarrée pour 2 places (1 200 000 XOF)",
    },
    "step.nc.ended": {
        "en": "the payment was declined and the saga ended {status} after {steps}",
        "fr": "le paiement a été refusé et la saga a fini {status} après {steps}",
    },
    "step.nc.state": {
        "en": "the event has {booked} seat(s) booked and the reservation is {status}",
        "fr": "l'événement a {booked} place(s) réservée(s) et la réservation est {status}",
    },
    "step.nc.leaked": {
        "en": ": seats leaked to a booking nobody paid for",
        "fr": " : des places restent prises par une réservation que personne n'a payée",
    },
    "step.occ.raced": {
        "en": "{racers} appends to {aggregate} raced on two event store processes: {appended} stored",
        "fr": "{racers} ajouts simultanés à {aggregate} sur deux processus d'event store : "
        "{appended} enregistrés",
    },
    "step.occ.history": {
        "en": "the history holds {count} events",
        "fr": "l'historique contient {count} événements",
    },
    "step.occ.once": {
        "en": " at versions 1..{count}, each once",
        "fr": ", versions 1 à {count}, chacune une fois",
    },
    "step.occ.twice": {
        "en": ", and {count} version(s) were written twice: {versions}",
        "fr": ", et {count} version(s) écrite(s) deux fois : {versions}",
    },
    "step.fo.started": {
        "en": "booking saga {saga} started (slow motion: a pause before each step)",
        "fr": "saga de réservation {saga} démarrée (au ralenti : une pause avant chaque étape)",
    },
    "step.fo.killed": {
        "en": "the orchestrator was killed (SIGKILL) in the middle, after {done}",
        "fr": "l'orchestrateur a été tué (SIGKILL) en pleine saga, après {done}",
    },
    "step.fo.nothing": {"en": "nothing", "fr": "rien"},
    "step.fo.restarted": {
        "en": "a new orchestrator started; the dead one's lease runs out after {lease} s",
        "fr": "un nouvel orchestrateur a démarré ; le bail du précédent expire après {lease} s",
    },
    "step.fo.later": {
        "en": "{seconds} s later the saga is {status}",
        "fr": "{seconds} s plus tard, la saga est {status}",
    },
    "step.fo.finished": {
        "en": " (taken over from the log and finished)",
        "fr": " (reprise à partir du journal et terminée)",
    },
    "step.fo.stuck": {
        "en": " at {step}, for good: {booked} seat(s) held by a booking nobody finishes",
        "fr": " à l'étape {step}, définitivement : {booked} place(s) prise(s) par une réservation "
        "que personne ne termine",
    },
    "step.no.created": {
        "en": "event {id} created; the event store recorded it ({aggregate})",
        "fr": "événement {id} créé ; l'event store l'a enregistré ({aggregate})",
    },
    "step.no.out": {
        "en": "the broker is out for this fleet; {confirmed} bookings were still confirmed",
        "fr": "RabbitMQ est coupé pour ces services ; {confirmed} réservations ont quand même été confirmées",
    },
    "step.no.back": {"en": "the broker is back", "fr": "RabbitMQ est revenu"},
    "step.no.held": {
        "en": "the event store holds {held} of the {confirmed} bookings made during the outage",
        "fr": "l'event store contient {held} des {confirmed} réservations faites pendant la panne",
    },
    "step.no.lost": {"en": ": their messages were lost", "fr": " : leurs messages ont été perdus"},
    "step.sc.created": {"en": "payment {id} is {status}", "fr": "le paiement {id} est {status}"},
    "step.sc.read": {
        "en": "GET read it as {status} (the read fills the Redis cache)",
        "fr": "GET le lit {status} (la lecture remplit le cache Redis)",
    },
    "step.sc.refunded": {
        "en": "the compensation refunded it: the answer says {status}",
        "fr": "la compensation l'a remboursé : la réponse dit {status}",
    },
    "step.sc.now": {"en": "GET now reads {status}", "fr": "GET lit maintenant {status}"},
    "step.sc.stale": {
        "en": ": the cache still serves the old status",
        "fr": " : le cache sert encore l'ancien statut",
    },
    # fleet seed / demo
    "demo.events": {"en": "events:", "fr": "événements :"},
    "demo.event_added": {
        "en": "  + {id:>4}  {name} ({location}), {capacity} seats at {price} XOF",
        "fr": "  + {id:>4}  {name} ({location}), {capacity} places à {price} XOF",
    },
    "demo.event_there": {
        "en": "  = {id:>4}  {name} ({location}) already there",
        "fr": "  = {id:>4}  {name} ({location}) déjà là",
    },
    "demo.nothing_new": {
        "en": "every demo event was already there: no new bookings",
        "fr": "tous les événements de démonstration étaient déjà là : aucune nouvelle réservation",
    },
    "demo.bookings": {"en": "bookings through the saga:", "fr": "réservations par la saga :"},
    "demo.booking": {
        "en": "  {mark} {name:<36} {seats:>3} seat(s) x {price:>9} XOF -> {status} ({ms:.0f} ms)",
        "fr": "  {mark} {name:<36} {seats:>3} place(s) x {price:>9} XOF -> {status} ({ms:.0f} ms)",
    },
    "demo.seeded": {
        "en": "seeded {events} events, {bookings} bookings ({failures} unexpected outcomes)",
        "fr": "{events} événements et {bookings} réservations créés ({failures} résultats inattendus)",
    },
    "demo.story": {
        "en": "The booking story: a booking that completes",
        "fr": "L'histoire d'une réservation : une réservation qui aboutit",
    },
    "demo.cancel": {
        "en": "... the customer cancels it (a cancellation saga)",
        "fr": "… le client l'annule (une saga d'annulation)",
    },
    "demo.declined": {
        "en": "... and one the payment provider declines",
        "fr": "… et une que le prestataire de paiement refuse",
    },
    # fleet check (fleetctl/check.py): the summary, the table, each difference's sentences.
    # Check names, subjects (event 12, queue x.dlq), field names and statuses stay as they are.
    "check.ok": {"en": "fleet check: OK ({checked})", "fr": "fleet check : OK ({checked})"},
    "check.differences": {
        "en": "fleet check: {count} difference(s) ({checked})",
        "fr": "fleet check : {count} différence(s) ({checked})",
    },
    "check.count.events": {"en": "{n} events", "fr": "{n} événements"},
    "check.count.reservations": {"en": "{n} reservations", "fr": "{n} réservations"},
    "check.count.payments": {"en": "{n} payments", "fr": "{n} paiements"},
    "check.count.dead-letter queues": {
        "en": "{n} dead-letter queues",
        "fr": "{n} files de lettres mortes",
    },
    "check.column.check": {"en": "check", "fr": "contrôle"},
    "check.column.subject": {"en": "subject", "fr": "objet"},
    "check.column.expected": {"en": "expected", "fr": "attendu"},
    "check.column.actual": {"en": "actual", "fr": "constaté"},
    "check.column.detail": {"en": "detail", "fr": "détail"},
    "check.progress": {"en": "checked {done}/{total} events", "fr": "{done}/{total} événements vérifiés"},
    "check.settling": {
        "en": "{count} difference(s) on {events} event(s); re-checking while they settle",
        "fr": "{count} différence(s) sur {events} événement(s) ; nouvelle vérification le temps "
        "que tout se stabilise",
    },
    "check.answers": {"en": "answers", "fr": "répond"},
    "check.all_answer": {"en": "every service answers", "fr": "chaque service répond"},
    "check.stuck": {"en": "{status} for > {seconds} s", "fr": "{status} depuis plus de {seconds} s"},
    "check.stuck_detail": {
        "en": "event {event}, step {step}, error {error}",
        "fr": "événement {event}, étape {step}, erreur {error}",
    },
    "check.terminal": {"en": "terminal", "fr": "terminée"},
    "check.ended": {"en": "COMPLETED or COMPENSATED", "fr": "COMPLETED ou COMPENSATED"},
    "check.failed_detail": {"en": "event {event}: {error}", "fr": "événement {event} : {error}"},
    "check.dlq_expected": {"en": "0 messages", "fr": "0 message"},
    "check.dlq_actual": {"en": "{held} message(s)", "fr": "{held} message(s)"},
    "check.dlq_detail": {
        "en": "a consumer gave up on them: inspect (UI: Get messages), fix, then move or purge",
        "fr": "un consommateur les a abandonnés : les examiner (interface : Get messages), corriger, "
        "puis les déplacer ou les purger",
    },
    "check.seats_live": {
        "en": "bookedSeats = {live} (live reservations)",
        "fr": "bookedSeats = {live} (réservations en cours)",
    },
    "check.capacity": {"en": "capacity {capacity}", "fr": "capacité {capacity}"},
    "check.in_flight": {
        "en": "; {sagas} saga(s) in flight hold up to {seats}",
        "fr": " ; {sagas} saga(s) en cours retiennent jusqu'à {seats} place(s)",
    },
    "check.leaked": {"en": "; seats leaked", "fr": " ; des places restent prises"},
    "check.oversold": {
        "en": "; seats oversold or lost",
        "fr": " ; des places vendues en trop ou perdues",
    },
    "check.want_payment": {"en": "a completed payment", "fr": "un paiement completed"},
    "check.no_payment": {"en": "no payment", "fr": "aucun paiement"},
    "check.confirmed_by": {"en": "confirmed by saga {saga}", "fr": "confirmée par la saga {saga}"},
    "check.want_confirmed": {
        "en": "confirmed (its payment is completed)",
        "fr": "confirmed (son paiement est completed)",
    },
    "check.refund_it": {
        "en": "payment {id} took {amount} {currency} for a reservation that is not confirmed: refund it",
        "fr": "le paiement {id} a encaissé {amount} {currency} pour une réservation non confirmée : "
        "à rembourser",
    },
    "check.refund_stuck": {
        "en": "a refund of this {status} reservation did not complete: settle it by hand",
        "fr": "le remboursement de cette réservation {status} n'a pas abouti : à régler à la main",
    },
    "check.want_one": {"en": "one completed payment", "fr": "un seul paiement completed"},
    "check.completed": {"en": "{count} completed", "fr": "{count} completed"},
    "check.charged_twice": {"en": "charged twice: {ids}", "fr": "débité deux fois : {ids}"},
    "check.want_document": {"en": "a document", "fr": "un document"},
    "check.no_projection": {
        "en": "the projection never saw this event",
        "fr": "la projection n'a jamais vu cet événement",
    },
    "check.want_stream": {"en": "a stream", "fr": "un flux"},
    "check.no_event_message": {
        "en": "no event.* message was recorded",
        "fr": "aucun message event.* n'a été enregistré",
    },
    "check.no_reservation_message": {
        "en": "no reservation.* message was recorded",
        "fr": "aucun message reservation.* n'a été enregistré",
    },
    "check.last_version": {
        "en": "last eventData.version = {version} (the event's)",
        "fr": "dernier eventData.version = {version} (comme l'événement)",
    },
    "check.last_recorded": {"en": "last recorded: {type}", "fr": "dernier enregistré : {type}"},
    "check.last_status": {
        "en": "last status = {status} (the reservation's)",
        "fr": "dernier status = {status} (comme la réservation)",
    },
    "check.missing": {"en": "missing {versions}", "fr": "manquantes : {versions}"},
    "check.duplicated": {"en": "duplicated {versions}", "fr": "en double : {versions}"},
    "check.out_of_order": {"en": "out of order: {versions}", "fr": "dans le désordre : {versions}"},
    # fleet demo (fleetctl/story.py): each step of the booking story, its detail, the total.
    "story.ready": {"en": "the seven services are ready", "fr": "les sept services sont prêts"},
    "story.create_event": {
        "en": "create an event (future date)",
        "fr": "créer un événement (date à venir)",
    },
    "story.book": {
        "en": "book through the saga: 202 Accepted",
        "fr": "réserver par la saga : 202 Accepted",
    },
    "story.saga_completed": {"en": "saga COMPLETED", "fr": "saga COMPLETED"},
    "story.seats_booked": {"en": "event seats booked", "fr": "places de l'événement réservées"},
    "story.reservation_confirmed": {"en": "reservation confirmed", "fr": "réservation confirmée"},
    "story.payment_completed": {"en": "payment completed", "fr": "paiement effectué"},
    "story.notification": {
        "en": "notification stored for the user",
        "fr": "notification enregistrée pour l'utilisateur",
    },
    "story.analytics": {
        "en": "analytics shows the occupancy",
        "fr": "les statistiques montrent le taux d'occupation",
    },
    "story.history": {
        "en": "event store history of the reservation",
        "fr": "historique de la réservation dans l'event store",
    },
    "story.reconstruct": {
        "en": "event store reconstructs version 1 (pending)",
        "fr": "l'event store reconstruit la version 1 (pending)",
    },
    "story.cancel": {
        "en": "cancel it: a cancellation saga starts (202)",
        "fr": "l'annuler : une saga d'annulation démarre (202)",
    },
    "story.cancel_completed": {
        "en": "cancellation saga COMPLETED",
        "fr": "saga d'annulation COMPLETED",
    },
    "story.settled": {
        "en": "seats released, payment refunded",
        "fr": "places libérées, paiement remboursé",
    },
    "story.cancel_told": {
        "en": "notification of the cancellation",
        "fr": "notification de l'annulation",
    },
    "story.analytics_after": {
        "en": "analytics without the cancelled seats",
        "fr": "statistiques sans les places annulées",
    },
    "story.declined_event": {"en": "create a high-priced event", "fr": "créer un événement très cher"},
    "story.declined_saga": {
        "en": "book above the decline limit: saga COMPENSATED",
        "fr": "réserver au-delà du plafond de paiement : saga COMPENSATED",
    },
    "story.declined_back": {
        "en": "declined booking gave its seats back",
        "fr": "la réservation refusée a rendu ses places",
    },
    "story.event_created": {
        "en": "event {id}, {capacity} seats ({available} bookable) at {price} XOF",
        "fr": "événement {id}, {capacity} places ({available} réservables) à {price} XOF",
    },
    "story.confirmed": {
        "en": "confirmed, {seats} seats, totalAmount {amount}",
        "fr": "confirmée, {seats} places, totalAmount {amount}",
    },
    "story.stored": {"en": "{count} stored ({kinds})", "fr": "{count} enregistrée(s) ({kinds})"},
    "story.cancellation_saga": {
        "en": "cancellation saga {saga}",
        "fr": "saga d'annulation {saga}",
    },
    "story.settled_detail": {
        "en": "bookedSeats 0, payment {payment} refunded, reservation cancelled",
        "fr": "bookedSeats 0, paiement {payment} remboursé, réservation annulée",
    },
    "story.declined_created": {
        "en": "event {id} at {price} XOF",
        "fr": "événement {id} à {price} XOF",
    },
    "story.summary": {
        "en": "{passed} passed, {failed} failed",
        "fr": "{passed} réussie(s), {failed} en échec",
    },
}


def say(key: str, lang: str | None = None, **fields: object) -> str:
    """The message `key` in `lang` (default: the locale's), its fields filled in."""
    texts = MESSAGES[key]
    return texts.get(lang or language(), texts["en"]).format(**fields)
