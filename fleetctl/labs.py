"""`fleet lab NAME`: break one mechanism on purpose and watch its invariant fail, then see it
hold with the mechanism on (docs/labs.md).

Each lab runs twice on an isolated fleet of its own (free ports, throwaway databases, removed
afterwards): once with TEACHING_FAULTS naming its fault, once without. A lab has demonstrated
what it should when its invariant broke with the fault and held without it.
"""

import argparse
import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from fleetctl import messages
from fleetctl.fleet import BY_NAME, Fleet, ServiceExited
from fleetctl.story import TERMINAL_SAGA_STATES, future_date
from shared.faults import Fault

OK, FAILED = "✓", "✗"


@dataclass
class Side:
    """One run of a lab's scenario: each step said with ✓/✗, the invariant, what showed it."""

    steps: list[tuple[bool, str]] = field(default_factory=list)
    invariant_held: bool = False
    evidence: dict[str, Any] = field(default_factory=dict)

    def step(self, ok: bool, sentence: str) -> bool:
        self.steps.append((ok, sentence))
        return ok

    def report(self) -> dict[str, Any]:
        return {"invariantHeld": self.invariant_held, "evidence": self.evidence}


class Driver:
    """The lab's client of a fleet: its services' URLs and one HTTP client."""

    def __init__(self, fleet: Fleet, timeout: float = 15.0, broker_line: "BrokerLine | None" = None) -> None:
        self.fleet = fleet
        self.broker_line = broker_line
        # The labs drive the steps the saga drives (book, charge, refund): internal endpoints,
        # called with the fleet's service token as its services call them.
        token = fleet.service_env().get("SERVICE_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(timeout=timeout, headers=headers)

    def url(self, package: str, instance: int = 1) -> str:
        return f"http://127.0.0.1:{self.fleet.port(BY_NAME[package].nth(instance))}"

    def close(self) -> None:
        self.http.close()

    def create_event(self, capacity: int, price: int = 5000) -> dict[str, Any]:
        answer = self.http.post(
            f"{self.url('event_service')}/api/events",
            json={
                "name": f"Lab night {uuid.uuid4().hex[:6]}",
                "description": "a teaching lab",
                "eventDate": future_date(),
                "location": "Dakar Arena",
                "category": "concert",
                "totalCapacity": capacity,
                "ticketPrice": price,
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        answer.raise_for_status()
        return dict(answer.json())

    def book(self, event: dict[str, Any], seats: int) -> httpx.Response:
        """Start a booking saga (its answer: 202 and the sagaId)."""
        return self.http.post(
            f"{self.url('saga_orchestrator')}/api/saga/booking",
            json={
                "eventId": event["id"],
                "userId": "awa",
                "userName": "Awa Ndiaye",
                "userEmail": "awa@example.sn",
                "seats": seats,
                "ticketPrice": event["ticketPrice"],
                "paymentMethod": "card",
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )

    def saga(self, saga_id: str, wait: float = 0) -> dict[str, Any]:
        answer = self.http.get(f"{self.url('saga_orchestrator')}/api/saga/{saga_id}", params={"wait": wait})
        return dict(answer.json())

    def settled(self, saga_id: str, seconds: float) -> dict[str, Any]:
        """The saga once terminal, or as it stands when `seconds` have passed."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            saga = self.saga(saga_id, wait=max(0.0, min(5.0, left)))
            if saga.get("status") in TERMINAL_SAGA_STATES or left <= 0:
                return saga

    def charge(self, reservation_id: str, key: str) -> httpx.Response:
        return self.http.post(
            f"{self.url('payment_service')}/api/payments",
            json={
                "reservationId": reservation_id,
                "userId": "awa",
                "amount": "15000",
                "currency": "XOF",
                "paymentMethod": "mobile_money",
            },
            headers={"Idempotency-Key": key},
        )


@dataclass(frozen=True)
class Lab:
    """A lab; what it teaches and the invariant it checks are in fleetctl/messages.py
    (`lab.<name>.pattern`, `lab.<name>.invariant`), in English and French."""

    name: str
    fault: Fault
    services: tuple[str, ...]
    scenario: Callable[[Driver, Side], None]
    # Services the lab runs twice (two processes sharing one database), to race them.
    twins: tuple[str, ...] = ()
    # Settings the lab's fleet needs (both sides alike).
    env: tuple[tuple[str, str], ...] = ()
    # The fleet reaches RabbitMQ through a BrokerLine the lab can cut.
    outage: bool = False

    @property
    def pattern(self) -> str:
        return self.said("pattern", "en")

    @property
    def invariant(self) -> str:
        return self.said("invariant", "en")

    def said(self, what: str, lang: str | None = None) -> str:
        """Its pattern or invariant, in `lang` (default: the locale's)."""
        return messages.say(f"lab.{self.name}.{what}", lang)


class BrokerLine:
    """A TCP relay between a fleet and RabbitMQ (AMQP_URL points at it): `cut()` closes every
    connection and refuses new ones, `mend()` accepts again. A broker outage for this fleet
    only; the shared RabbitMQ, and every other fleet on it, never notice."""

    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5672)) -> None:
        self.upstream = upstream
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = int(probe.getsockname()[1])
        probe.close()
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self.mend()

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def mend(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._open = self._open, []
        for each in [listener, *sockets]:
            if each is not None:
                with contextlib.suppress(OSError):
                    each.shutdown(socket.SHUT_RDWR)
                each.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._open += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        for each in (source, target):
            with contextlib.suppress(OSError):
                each.shutdown(socket.SHUT_RDWR)


# --- the scenarios ---------------------------------------------------------------------------

RACERS = 80


def lost_update(driver: Driver, side: Side) -> None:
    event = driver.create_event(capacity=1000)
    side.step(True, messages.say("step.lu.created", id=event["id"]))
    url = f"{driver.url('event_service')}/api/events/{event['id']}/book"

    def book(_: int) -> int:
        answer = driver.http.post(url, json={"seats": 1}, headers={"Idempotency-Key": str(uuid.uuid4())})
        return answer.status_code

    # Many bookings at once: two that read the same bookedSeats race to write it.
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(book, range(RACERS)))
    confirmed = statuses.count(200)
    side.step(True, messages.say("step.lu.raced", racers=RACERS, confirmed=confirmed))
    booked = int(
        driver.http.get(f"{driver.url('event_service')}/api/events/{event['id']}").json()["bookedSeats"]
    )
    side.invariant_held = booked == confirmed
    side.evidence = {"eventId": event["id"], "confirmedBookings": confirmed, "bookedSeats": booked}
    side.step(
        side.invariant_held,
        messages.say("step.lu.booked", booked=booked, confirmed=confirmed)
        + ("" if side.invariant_held else messages.say("step.lu.lost", lost=confirmed - booked)),
    )


def no_idempotency(driver: Driver, side: Side) -> None:
    reservation = f"lab-{uuid.uuid4().hex[:12]}"
    key = str(uuid.uuid4())
    first = driver.charge(reservation, key)
    paid = first.json().get("id") if first.status_code == 201 else None
    side.step(first.status_code == 201, messages.say("step.ni.charged", reservation=reservation, paid=paid))
    # The saga's retry after a lost answer: the same step, the same key, the same body.
    retry = driver.charge(reservation, key)
    body = retry.json()
    replayed = retry.headers.get("Idempotent-Replayed") == "true"
    side.invariant_held = retry.status_code == 201 and replayed and body.get("id") == paid
    listed = driver.http.get(
        f"{driver.url('payment_service')}/api/payments", params={"reservationId": reservation}
    ).json()
    side.evidence = {
        "reservationId": reservation,
        "firstPayment": paid,
        "retry": {"status": retry.status_code, "replayed": replayed, "payment": body.get("id")},
        "detail": body.get("detail"),
        "paymentsRecorded": [p["id"] for p in listed["items"]],
    }
    if side.invariant_held:
        side.step(True, messages.say("step.ni.replayed", paid=paid))
    else:
        # Without the key the retry is a new request: it reaches the provider again, and only
        # the one-live-charge-per-reservation index stops a second payment being recorded.
        side.step(
            False,
            messages.say(
                "step.ni.new", status=retry.status_code, detail=body.get("detail") or body.get("status")
            ),
        )


def no_compensation(driver: Driver, side: Side) -> None:
    # Two seats at 600 000 XOF: above the simulated provider's single-charge limit (1 000 000).
    event = driver.create_event(capacity=10, price=600_000)
    side.step(True, messages.say("step.nc.event", id=event["id"]))
    started = driver.book(event, seats=2)
    saga_id = started.json()["sagaId"]
    side.step(started.status_code == 202, messages.say("step.nc.started", saga=saga_id))
    saga = driver.settled(saga_id, 120)
    done = [f"{s['name']}:{s['status']}" for s in saga.get("steps", [])]
    side.step(
        saga.get("status") in TERMINAL_SAGA_STATES,
        messages.say("step.nc.ended", status=saga.get("status"), steps=", ".join(done)),
    )
    booked = driver.http.get(f"{driver.url('event_service')}/api/events/{event['id']}").json()["bookedSeats"]
    reservation_id = saga.get("reservationId")
    reservation = (
        driver.http.get(f"{driver.url('reservation_service')}/api/reservations/{reservation_id}").json()
        if reservation_id
        else {}
    )
    status = reservation.get("status")
    side.invariant_held = booked == 0 and str(status).lower() != "pending"
    side.evidence = {
        "sagaId": saga_id,
        "sagaStatus": saga.get("status"),
        "steps": done,
        "bookedSeats": booked,
        "reservationId": reservation_id,
        "reservationStatus": status,
    }
    side.step(
        side.invariant_held,
        messages.say("step.nc.state", booked=booked, status=status)
        + ("" if side.invariant_held else messages.say("step.nc.leaked")),
    )


def no_event_store_occ(driver: Driver, side: Side) -> None:
    aggregate = f"lab-{uuid.uuid4().hex[:12]}"
    stores = [driver.url("event_store_service", n) for n in (1, 2)]

    def append(n: int) -> int:
        answer = driver.http.post(
            f"{stores[n % 2]}/api/events",
            json={
                "aggregateId": aggregate,
                "aggregateType": "RESERVATION",
                "eventType": "SeatsHeld",
                "eventData": {"n": n},
                "eventId": f"{aggregate}-{n}",
            },
        )
        return answer.status_code

    # Appends at the aggregate's next version, alternately on two event store processes:
    # both read the same head and aim at the same next version.
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(append, range(RACERS)))
    appended = statuses.count(201)
    side.step(True, messages.say("step.occ.raced", racers=RACERS, aggregate=aggregate, appended=appended))
    history = driver.http.get(
        f"{stores[0]}/api/aggregates/{aggregate}/history", params={"limit": 1000}
    ).json()
    versions = [int(e["version"]) for e in history["events"]]
    duplicates = sorted({v for v in versions if versions.count(v) > 1})
    side.invariant_held = not duplicates and sorted(versions) == list(range(1, len(versions) + 1))
    side.evidence = {
        "aggregateId": aggregate,
        "appended": appended,
        "events": len(versions),
        "duplicateVersions": duplicates,
        "currentVersion": history.get("currentVersion"),
    }
    side.step(
        side.invariant_held,
        messages.say("step.occ.history", count=len(versions))
        + (
            messages.say("step.occ.once", count=len(versions))
            if side.invariant_held
            else messages.say("step.occ.twice", count=len(duplicates), versions=duplicates[:10])
        ),
    )


# The orchestrator's lease and recovery settings of the forgetful-orchestrator lab: a saga
# of a dead orchestrator is free to take over after LEASE seconds.
LEASE = 3


def forgetful_orchestrator(driver: Driver, side: Side) -> None:
    event = driver.create_event(capacity=10)
    started = driver.book(event, seats=1)
    saga_id = started.json()["sagaId"]
    side.step(started.status_code == 202, messages.say("step.fo.started", saga=saga_id))
    running = driver.saga(saga_id)
    for _ in range(100):
        if any(s["status"] == "succeeded" for s in running.get("steps", [])):
            break
        time.sleep(0.1)
        running = driver.saga(saga_id)
    done = [s["name"] for s in running.get("steps", []) if s["status"] == "succeeded"]
    driver.fleet.kill("saga_orchestrator")
    side.step(
        bool(done),
        messages.say("step.fo.killed", done=", ".join(done) or messages.say("step.fo.nothing")),
    )
    driver.fleet.start(["saga_orchestrator"], quiet=True)
    side.step(True, messages.say("step.fo.restarted", lease=LEASE))
    saga = driver.settled(saga_id, LEASE * 5)
    booked = driver.http.get(f"{driver.url('event_service')}/api/events/{event['id']}").json()["bookedSeats"]
    side.invariant_held = saga.get("status") in TERMINAL_SAGA_STATES
    side.evidence = {
        "sagaId": saga_id,
        "sagaStatus": saga.get("status"),
        "currentStep": saga.get("currentStep"),
        "bookedSeats": booked,
        "waitedSeconds": LEASE * 5,
    }
    side.step(
        side.invariant_held,
        messages.say("step.fo.later", seconds=LEASE * 5, status=saga.get("status"))
        + (
            messages.say("step.fo.finished")
            if side.invariant_held
            else messages.say("step.fo.stuck", step=saga.get("currentStep"), booked=booked)
        ),
    )


def no_outbox(driver: Driver, side: Side) -> None:
    line = driver.broker_line
    if line is None:
        raise ValueError("the no-outbox lab needs its fleet's AMQP_URL on a BrokerLine")
    event = driver.create_event(capacity=100)
    aggregate = f"EVENT-{event['id']}"
    history_url = f"{driver.url('event_store_service')}/api/aggregates/{aggregate}/history"

    def history() -> list[dict[str, Any]]:
        answer = driver.http.get(history_url, params={"limit": 1000})
        return list(answer.json()["events"]) if answer.status_code == 200 else []

    deadline = time.monotonic() + 30
    while not history() and time.monotonic() < deadline:
        time.sleep(0.3)
    side.step(bool(history()), messages.say("step.no.created", id=event["id"], aggregate=aggregate))
    line.cut()
    try:
        time.sleep(2)  # the services see their broker connection gone
        book = f"{driver.url('event_service')}/api/events/{event['id']}/book"
        answers = [
            driver.http.post(book, json={"seats": 1}, headers={"Idempotency-Key": str(uuid.uuid4())})
            for _ in range(3)
        ]
        confirmed = sum(a.status_code == 200 for a in answers)
        side.step(confirmed == 3, messages.say("step.no.out", confirmed=confirmed))
        time.sleep(3)  # outbox passes while the broker is out
    finally:
        line.mend()
    side.step(True, messages.say("step.no.back"))
    deadline = time.monotonic() + 20
    booked: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        booked = [e for e in history() if "booked" in str(e.get("eventType", "")).lower()]
        if len(booked) >= confirmed:
            break
        time.sleep(0.5)
    side.invariant_held = len(booked) == confirmed
    side.evidence = {
        "aggregateId": aggregate,
        "confirmedDuringOutage": confirmed,
        "bookingEventsInEventStore": len(booked),
    }
    side.step(
        side.invariant_held,
        messages.say("step.no.held", held=len(booked), confirmed=confirmed)
        + ("" if side.invariant_held else messages.say("step.no.lost")),
    )


def stale_cache(driver: Driver, side: Side) -> None:
    base = f"{driver.url('payment_service')}/api/payments"
    created = driver.charge(f"lab-{uuid.uuid4().hex[:12]}", str(uuid.uuid4()))
    payment_id = created.json()["id"]
    side.step(
        created.status_code == 201,
        messages.say("step.sc.created", id=payment_id, status=created.json()["status"]),
    )
    first = driver.http.get(f"{base}/{payment_id}").json()
    side.step(True, messages.say("step.sc.read", status=first["status"]))
    refund = driver.http.post(
        f"{base}/{payment_id}/compensate",
        json={"reason": "lab"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    refunded = refund.json().get("status")
    side.step(refund.status_code == 200, messages.say("step.sc.refunded", status=refunded))
    read = driver.http.get(f"{base}/{payment_id}").json()["status"]
    side.invariant_held = read == refunded
    side.evidence = {"paymentId": payment_id, "afterRefund": refunded, "readAfterRefund": read}
    side.step(
        side.invariant_held,
        messages.say("step.sc.now", status=read)
        + ("" if side.invariant_held else messages.say("step.sc.stale")),
    )


LABS: dict[str, Lab] = {
    lab.name: lab
    for lab in (
        Lab(
            "lost-update",
            Fault.LOST_UPDATE,
            ("event_service",),
            lost_update,
        ),
        Lab(
            "no-idempotency",
            Fault.NO_IDEMPOTENCY,
            ("payment_service",),
            no_idempotency,
        ),
        Lab(
            "no-compensation",
            Fault.NO_COMPENSATION,
            ("event_service", "reservation_service", "payment_service", "saga_orchestrator"),
            no_compensation,
        ),
        Lab(
            "no-event-store-occ",
            Fault.NO_EVENT_STORE_OCC,
            ("event_store_service",),
            no_event_store_occ,
            twins=("event_store_service",),
        ),
        Lab(
            "forgetful-orchestrator",
            Fault.FORGETFUL_ORCHESTRATOR,
            ("event_service", "reservation_service", "payment_service", "saga_orchestrator"),
            forgetful_orchestrator,
            env=(
                ("SAGA_STEP_DELAY_MS", "700"),
                ("SAGA_LEASE_SECONDS", str(LEASE)),
                ("SAGA_RECOVERY_INTERVAL_SECONDS", "0.5"),
            ),
        ),
        Lab(
            "no-outbox",
            Fault.NO_OUTBOX,
            ("event_service", "event_store_service"),
            no_outbox,
            outage=True,
        ),
        Lab(
            "stale-cache",
            Fault.STALE_CACHE,
            ("payment_service",),
            stale_cache,
        ),
    )
}


# --- running a lab ---------------------------------------------------------------------------


def run_side(lab: Lab, fleet: Fleet, with_fault: bool, broker_line: BrokerLine | None = None) -> Side:
    """The scenario on a running fleet, after checking the fleet has the fault on (or off)."""
    side = Side()
    driver = Driver(fleet, broker_line=broker_line)
    try:
        shown = {name: fleet.teaching_faults(BY_NAME[name]) for name in lab.services}
        if not side.step(
            all((lab.fault.value in faults) == with_fault for faults in shown.values()),
            messages.say(
                "step.fault_on" if with_fault else "step.fault_off",
                services=", ".join(lab.services),
                fault=lab.fault.value,
            ),
        ):
            side.evidence = {"teachingFaults": shown}
            return side
        lab.scenario(driver, side)
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        side.step(False, messages.say("step.error", error=repr(exc)))
        side.invariant_held = not with_fault  # whatever was expected did not get shown
        side.evidence = {"error": repr(exc)}
    finally:
        driver.close()
    return side


def start(fleet: Fleet, services: Iterable[str], twins: Iterable[str]) -> None:
    """The services, and two instances of each twin (which must be among them). A service that
    exits while starting (its port taken meanwhile, an engine restarting under a chaos test of
    another run) is tried again, up to three times."""
    twins = set(twins)
    single = [name for name in services if name not in twins]
    for attempt in range(3):
        try:
            if single:
                fleet.start(single, quiet=True)
            if twins:
                fleet.start(sorted(twins), quiet=True, instances=2)
            return
        except ServiceExited:
            if attempt == 2:
                raise
            fleet.stop()
            time.sleep(3)


def run_lab(lab: Lab, say: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Both sides, each on a fresh isolated fleet (removed afterwards)."""
    from fleetctl.isolated import isolated_fleet  # the engines' admin clients, only when a lab runs

    sides: dict[str, Side] = {}
    for with_fault in (True, False):
        say(
            messages.say("lab.with_fault", name=lab.name, fault=lab.fault.value)
            if with_fault
            else messages.say("lab.without_fault", name=lab.name)
        )
        fleet = isolated_fleet()
        fleet.env["TEACHING_FAULTS"] = lab.fault.value if with_fault else ""
        fleet.env.update(lab.env)
        line = BrokerLine() if lab.outage else None
        if line is not None:
            fleet.env["AMQP_URL"] = line.amqp_url
        try:
            start(fleet, lab.services, lab.twins)
            side = run_side(lab, fleet, with_fault, line)
        finally:
            fleet.discard()
            if line is not None:
                line.cut()
        for ok, sentence in side.steps:
            say(f"  {OK if ok else FAILED} {sentence}")
        sides["withFault" if with_fault else "withoutFault"] = side
    return report(lab, sides["withFault"], sides["withoutFault"])


def report(lab: Lab, with_fault: Side, without_fault: Side) -> dict[str, Any]:
    return {
        "lab": lab.name,
        "fault": lab.fault.value,
        "invariant": lab.invariant,
        "withFault": with_fault.report(),
        "withoutFault": without_fault.report(),
        "demonstrated": demonstrated(with_fault, without_fault),
    }


def demonstrated(with_fault: Side, without_fault: Side) -> bool:
    return not with_fault.invariant_held and without_fault.invariant_held


# --- the command -----------------------------------------------------------------------------


def add_command(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    cmd = sub.add_parser("lab", help="run a teaching lab: its fault on, then off, on an isolated fleet")
    cmd.add_argument("name", nargs="?", help="the lab (see --list)")
    cmd.add_argument("--list", action="store_true", help="list the labs")
    cmd.add_argument("--json", action="store_true", help="print the report as JSON")


def run_command(args: argparse.Namespace) -> int:
    if args.list or not args.name:
        for each in LABS.values():
            print(
                messages.say(
                    "lab.list", name=each.name, pattern=each.said("pattern"), invariant=each.said("invariant")
                )
            )
        return 0 if args.list else 2
    lab = LABS.get(args.name)
    if lab is None:
        print(messages.say("lab.unknown", name=args.name, known=", ".join(LABS)))
        return 2
    result = run_lab(lab, say=(lambda line: None) if args.json else (lambda line: print(line, flush=True)))
    if args.json:
        print(json.dumps({k: result[k] for k in ("lab", "fault", "withFault", "withoutFault")}))
    else:
        broke = not result["withFault"]["invariantHeld"]
        held = result["withoutFault"]["invariantHeld"]
        print(messages.say("lab.invariant", invariant=lab.said("invariant")))
        print(f"  {OK if broke else FAILED} " + messages.say("lab.broke" if broke else "lab.held_anyway"))
        print(f"  {OK if held else FAILED} " + messages.say("lab.held" if held else "lab.broke_too"))
    return 0 if result["demonstrated"] else 1
