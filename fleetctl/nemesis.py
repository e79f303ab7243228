"""`fleet nemesis`: clients book, cancel and read while a nemesis breaks the fleet from a seeded
random schedule, then a healed fleet is checked against the whole ledger.

The run has three phases:

1. load and faults: client threads book (sometimes cancel, often read) at a steady rate, with an
   Idempotency-Key per operation and retries under the same key, as a real client would. Beside
   them the nemesis injects one fault at a time from a schedule drawn from `--seed`, holds it,
   and heals it: SIGKILL of a service then restart, SIGSTOP/SIGCONT of a participant for longer
   than the orchestrator's step timeout, RabbitMQ's application stopped, Redis stopped,
   the MongoDB-wire server, the search node and PostgreSQL restarted, a message delivered twice,
   a poison message;
2. quiescence: the load stops, every fault is healed, and the run waits until no saga is in
   flight and no queue of the fleet holds a message;
3. the check, from each service's API and the broker's: the invariants listed in INVARIANTS,
   `fleet check`'s own comparisons included.

Engine faults restart the engines every fleet on the machine shares; `--faults` picks the kinds
(e.g. `--faults kill,pause,duplicate,poison` leaves the engines alone), and each engine fault
is drawn at most once per run.

Network faults (NETWORK_FAULTS, only when named in `--faults`) need a fleet started with them:
every link of the isolated fleet (each service to each of its engines, the orchestrator to each
participant) then goes through a Toxiproxy proxy of its own (fleetctl/toxiproxy.py), and a fault
puts a toxic on one link for a while. The first round has each network kind twice, on two
different links.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from fleetctl.check import Problem, add_page, page_params, run_check
from fleetctl.fleet import BY_NAME, ROOT, SERVICES, Fleet
from fleetctl.story import TERMINAL_SAGA_STATES, future_date
from fleetctl.toxiproxy import LINK_NAMES, NetworkLinks


def _safety_margin(capacity: int) -> int:
    """The event service's rule, imported when needed: every `fleet` command (start, status,
    ...) registers this module's subcommand, and the service's domain brings the contract
    models (a quarter of the command's start-up)."""
    from event_service.domain import safety_margin

    return safety_margin(capacity)


RABBITMQ_API = "http://127.0.0.1:15672/api"
RABBIT_AUTH = ("guest", "guest")

SERVICE_FAULTS = ("kill", "pause", "duplicate", "poison")
ENGINE_FAULTS = ("rabbitmq", "redis", "mongo", "opensearch", "postgres")
# The default run's kinds; the network kinds are asked for by name.
FAULT_KINDS = SERVICE_FAULTS + ENGINE_FAULTS
NETWORK_FAULTS = ("latency", "partition", "reset", "slow-close", "bandwidth")
ALL_KINDS = FAULT_KINDS + NETWORK_FAULTS
# How often each kind is drawn, relative to the others (engine faults: once per run at most).
WEIGHTS = {"kill": 5, "pause": 3, "duplicate": 2, "poison": 1, **dict.fromkeys(NETWORK_FAULTS, 3)}
PARTICIPANTS = ("event_service", "reservation_service", "payment_service")

# The isolated fleet's settings: a crashed orchestrator's sagas are taken over within seconds,
# a participant call is given up after 2 attempts of 2 s (the step timeout a pause outlives),
# and a poison message reaches its dead-letter queue after 3 quick retries.
FLEET_SETTINGS = {
    "SAGA_LEASE_SECONDS": "3",
    "SAGA_RECOVERY_INTERVAL_SECONDS": "0.5",
    "SAGA_COMPENSATION_RETRY_SECONDS": "1",
    "CONSUMER_RETRY_DELAY_MS": "200",
    "CONSUMER_MAX_RETRIES": "3",
    "HTTP_TIMEOUT_SECONDS": "2",
    "HTTP_RETRIES": "1",
    "SAGA_HTTP_BACKOFF_SECONDS": "0.1",
}
POISON_PREFIX = "nemesis-poison-"
TAP_QUEUE = "nemesis.tap"
EVENT_CAPACITY = 100

INVARIANTS = (
    ("sagas_terminal", "every accepted saga is terminal"),
    ("compensation_failed", "no saga COMPENSATION_FAILED"),
    ("seats", "bookedSeats = seats of confirmed reservations, within capacity - margin"),
    ("payments", "one completed payment per saga at most; compensated: refunded or never charged"),
    ("money", "sum of completed payments = sum of confirmed reservations' amounts"),
    ("event_store", "every message stored exactly once, gapless versions per aggregate"),
    ("analytics", "analytics documents equal the event service's counts"),
    ("notifications", "every confirmed booking has its notification"),
    ("queues", "no queue holds messages; dead letters only the injected poison"),
)


def step_timeout(env: dict[str, str]) -> float:
    """How long the orchestrator waits for one participant call before it settles by asking."""
    timeout = float(env.get("HTTP_TIMEOUT_SECONDS", 5.0))
    retries = int(env.get("HTTP_RETRIES", 3))
    backoff = float(env.get("SAGA_HTTP_BACKOFF_SECONDS", 0.2))
    return timeout * (1 + retries) + backoff * (2**retries)


# -- the schedule -------------------------------------------------------------------------------


@dataclass
class Fault:
    gap: float  # seconds of calm before it, after the previous fault healed
    kind: str
    target: str
    hold: float  # seconds the fault lasts before it is healed
    first: bool = False  # of the first round (one of each kind): run even past the end
    params: dict[str, Any] = field(default_factory=dict)  # a network fault's toxic, as drawn
    started: float | None = None  # as run
    healed: float | None = None
    detail: str = ""
    error: str = ""


def schedule(
    seed: int,
    seconds: float,
    kinds: list[str],
    targets: list[str],
    pause_seconds: float,
    links: list[str] | tuple[str, ...] = (),
) -> list[Fault]:
    """Faults drawn from `seed`: every kind once first (network kinds twice, on two different
    `links`; shuffled; that round runs to its end even past `seconds`), then weighted draws;
    one fault at a time, a few seconds of calm between."""
    rng = random.Random(seed)
    first = list(kinds) + [k for k in kinds if k in NETWORK_FAULTS]
    rng.shuffle(first)
    engines_left = {k for k in kinds if k in ENGINE_FAULTS}
    weighted = [k for k in kinds if k not in ENGINE_FAULTS]
    first_links: dict[str, set[str]] = {}  # network kind -> links of its first-round faults
    faults: list[Fault] = []
    at = 0.0
    gap = rng.uniform(2, 4)
    while at + gap < seconds or first:
        first_round = bool(first)
        if first:
            kind = first.pop(0)
        else:
            pool = weighted + sorted(engines_left)
            if not pool:
                break
            kind = rng.choices(pool, weights=[WEIGHTS.get(k, 1) for k in pool])[0]
        engines_left.discard(kind)
        params: dict[str, Any] = {}
        if kind in NETWORK_FAULTS:
            if not links:
                raise ValueError(f"{kind}: a network fault needs the fleet's links")
            taken = first_links.setdefault(kind, set()) if first_round else set()
            free = [link for link in links if link not in taken] or list(links)
            # The orchestrator's calls to the participants weigh three times a service's engine
            # link: an answer lost there is what the saga's settling must survive.
            target = rng.choices(free, weights=[3 if _between_services(link) else 1 for link in free])[0]
            taken.add(target)
            hold, params = _draw_network(rng, kind)
        else:
            target, hold = _draw(rng, kind, targets, pause_seconds)
        faults.append(Fault(round(gap, 1), kind, target, round(hold, 1), first=first_round, params=params))
        at += gap + hold
        gap = rng.uniform(3, 6)
    return faults


def _draw(rng: random.Random, kind: str, targets: list[str], pause_seconds: float) -> tuple[str, float]:
    if kind == "kill":
        return rng.choice(targets), rng.uniform(1, 3)
    if kind == "pause":
        return rng.choice(PARTICIPANTS), pause_seconds + rng.uniform(0, 2)
    if kind == "rabbitmq":
        return "rabbitmq app", rng.uniform(3, 6)
    if kind == "redis":
        return "redis", rng.uniform(3, 6)
    if kind in ("mongo", "opensearch", "postgres"):
        return kind, rng.uniform(0.5, 1.5)
    if kind == "duplicate":
        return "a delivered message", 0.0
    return "event.updated", 0.0  # poison


def _draw_network(rng: random.Random, kind: str) -> tuple[float, dict[str, Any]]:
    """How long a network fault holds, and its toxic's settings ("stream": which direction:
    "downstream" is the server's answers, "upstream" the requests, "both")."""
    if kind == "latency":
        latency = rng.randint(200, 2500)
        return rng.uniform(4, 10), {
            "stream": rng.choice(("downstream", "upstream")),
            "latency_ms": latency,
            "jitter_ms": rng.randint(latency // 10, latency // 2),
        }
    if kind == "partition":
        # Some outlive the orchestrator's step timeout (4.2 s in the isolated fleet), some not;
        # "downstream" only: the requests arrive and are served, the answers are lost.
        return rng.uniform(2, 9), {"stream": rng.choice(("both", "downstream", "upstream"))}
    if kind == "reset":
        return rng.uniform(2, 6), {
            "stream": rng.choice(("downstream", "upstream")),
            "after_ms": rng.randint(0, 300),
        }
    if kind == "slow-close":
        return rng.uniform(4, 10), {"stream": "downstream", "delay_ms": rng.randint(500, 5000)}
    if kind == "bandwidth":
        return rng.uniform(4, 10), {"stream": "downstream", "kb_per_second": rng.randint(1, 32)}
    raise ValueError(f"not a network fault: {kind}")


def _between_services(link: str) -> bool:
    return link.partition("->")[2] in BY_NAME


def links_hit(faults: list[Fault]) -> dict[str, list[str]]:
    """Network kind -> the links it was injected on (without an error), for the JSON."""
    hit: dict[str, set[str]] = {}
    for fault in faults:
        if fault.kind in NETWORK_FAULTS and fault.started is not None and not fault.error:
            hit.setdefault(fault.kind, set()).add(fault.target)
    return {kind: sorted(links) for kind, links in sorted(hit.items())}


# -- the fleet under test ---------------------------------------------------------------------


@dataclass
class Target:
    fleet: Fleet
    orchestrators: int
    prefix: str
    exchange: str
    discard: Callable[[], None] | None = None
    network: "NetworkLinks | None" = None  # its proxies, when started with network faults

    def urls(self) -> dict[str, str]:
        return {s.package: self.fleet.url(s.package) for s in SERVICES}

    def orchestrator_urls(self) -> list[str]:
        saga = BY_NAME["saga_orchestrator"]
        return [f"http://127.0.0.1:{self.fleet.port(saga.nth(n))}" for n in range(1, self.orchestrators + 1)]


def isolated_target(orchestrators: int, say: Callable[[str], None], network_faults: bool = False) -> Target:
    from fleetctl.isolated import isolated_fleet

    fleet = isolated_fleet(network_faults=network_faults)
    fleet.env.update(FLEET_SETTINGS)
    say(
        f"starting an isolated fleet (ports +{fleet.port_offset}, "
        f"prefix {fleet.env['AMQP_QUEUE_PREFIX']}"
        + (f", {len(fleet.network.listening)} links through Toxiproxy" if fleet.network else "")
        + ") ..."
    )
    try:
        fleet.start(quiet=True)
        if orchestrators > 1:
            fleet.start(["saga_orchestrator"], quiet=True, instances=orchestrators)
    except BaseException:
        fleet.discard()
        raise
    return Target(
        fleet,
        orchestrators,
        fleet.env["AMQP_QUEUE_PREFIX"],
        fleet.env["AMQP_EXCHANGE"],
        fleet.discard,
        fleet.network,
    )


def here_target(orchestrators: int) -> Target:
    fleet = Fleet()
    prefix = os.environ.get("AMQP_QUEUE_PREFIX", "")
    exchange = os.environ.get("AMQP_EXCHANGE", "ticketing.events")
    if orchestrators > 1:
        fleet.start(["saga_orchestrator"], quiet=True, instances=orchestrators)
    return Target(fleet, orchestrators, prefix, exchange)


# -- RabbitMQ over its management API ----------------------------------------------------------


def held(queue: dict[str, Any]) -> int:
    """Messages a queue holds: ready, or delivered and not yet acknowledged."""
    return int(queue.get("messages") or 0) + int(queue.get("messages_unacknowledged") or 0)


class Broker:
    def __init__(self, target: Target) -> None:
        self.prefix = target.prefix
        self.exchange = target.exchange
        self.http = httpx.Client(base_url=RABBITMQ_API, auth=RABBIT_AUTH, timeout=15)
        self.tap = f"{self.prefix}{TAP_QUEUE}"
        self.produced: dict[str, dict[str, Any]] = {}

    def _q(self, name: str) -> str:
        return f"/queues/%2F/{quote(name, safe='')}"

    def open_tap(self) -> None:
        """A queue of the nemesis bound to every routing key: the ledger of every message the
        fleet published, and the messages a duplicate delivery is drawn from."""
        self.http.put(self._q(self.tap), json={"durable": True}).raise_for_status()
        self.http.post(
            f"/bindings/%2F/e/{quote(self.exchange, safe='')}/q/{quote(self.tap, safe='')}",
            json={"routing_key": "#"},
        ).raise_for_status()

    def close_tap(self) -> None:
        with suppress(httpx.HTTPError):
            self.http.delete(self._q(self.tap))

    def drain_tap(self) -> None:
        """Move what the tap holds into `produced` (message id -> the message as delivered)."""
        while True:
            answer = self.http.post(
                f"{self._q(self.tap)}/get",
                json={"count": 2000, "ackmode": "ack_requeue_false", "encoding": "base64"},
                timeout=60,
            )
            answer.raise_for_status()
            got = answer.json()
            for message in got:
                message_id = str(message["properties"].get("message_id", ""))
                if not message_id.startswith(POISON_PREFIX):
                    self.produced[message_id] = dict(message)
            if len(got) < 2000:
                return

    def recent_message(self, rng: random.Random) -> dict[str, Any] | None:
        """One of the last 200 messages the fleet published."""
        self.drain_tap()
        recent = list(self.produced.values())[-200:]
        return rng.choice(recent) if recent else None

    def republish(self, message: dict[str, Any]) -> None:
        """The same message again: body, message id and headers as first delivered."""
        props = {
            k: v for k, v in message["properties"].items() if k in ("message_id", "headers", "content_type")
        }
        props["delivery_mode"] = 2
        self._publish(message["routing_key"], message["payload"], "base64", props)

    def poison(self, routing_key: str, message_id: str) -> None:
        props = {"message_id": message_id, "content_type": "application/json", "delivery_mode": 2}
        self._publish(routing_key, '{"nemesis": "not an envelope"', "string", props)

    def _publish(self, routing_key: str, payload: str, encoding: str, props: dict[str, Any]) -> None:
        answer = self.http.post(
            f"/exchanges/%2F/{quote(self.exchange, safe='')}/publish",
            json={
                "routing_key": routing_key,
                "payload": payload,
                "payload_encoding": encoding,
                "properties": props,
            },
        )
        answer.raise_for_status()
        if answer.json().get("routed") is not True:
            raise RuntimeError(f"{routing_key}: not routed")

    def queues(self) -> list[dict[str, Any]]:
        answer = self.http.get(
            "/queues/%2F",
            params={"columns": "name,messages,messages_ready,messages_unacknowledged,consumers"},
        )
        answer.raise_for_status()
        own = [dict(q) for q in answer.json() if str(q["name"]).startswith(self.prefix)]
        return [q for q in own if q["name"] != self.tap and "." in q["name"][len(self.prefix) :]]

    def held(self) -> int:
        """Messages the fleet's queues hold, dead-letter queues aside."""
        return sum(held(q) for q in self.queues() if not str(q["name"]).endswith(".dlq"))

    def peek_all(self, queue: str) -> list[dict[str, Any]]:
        """Every message of the queue, requeued (nothing consumes a dead-letter queue)."""
        answer = self.http.post(
            f"{self._q(queue)}/get",
            json={"count": 10_000, "ackmode": "ack_requeue_true", "encoding": "auto", "truncate": 200},
        )
        answer.raise_for_status()
        return [dict(m) for m in answer.json()]

    def answers(self) -> bool:
        try:
            return self.http.get("/overview", timeout=3).status_code == 200
        except httpx.HTTPError:
            return False


# -- the nemesis -------------------------------------------------------------------------------


def infra(*args: str, timeout: float = 400) -> None:
    """scripts/infra.sh (engines found through TP4_DATA_DIR, as every engine script); an engine
    coming back on a busy machine (the search node) is given 5 minutes."""
    env = {**os.environ, "ENGINE_TIMEOUT": os.environ.get("ENGINE_TIMEOUT", "300")}
    subprocess.run(
        [str(ROOT / "scripts" / "infra.sh"), *args],
        check=True,
        timeout=timeout,
        capture_output=True,
        env=env,
    )


def wait_until(condition: Callable[[], Any], seconds: float, what: str, every: float = 0.25) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        with suppress(httpx.HTTPError):
            value = condition()
            if value:
                return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {seconds:.0f} s for {what}")
        time.sleep(every)


class Nemesis:
    def __init__(self, target: Target, broker: Broker, seed: int, say: Callable[[str], None]) -> None:
        self.rng = random.Random(seed)
        self.target = target
        self.broker = broker
        self.say = say
        self.poisoned: list[str] = []
        self.poison_keys: list[str] = []

    def run(self, fault: Fault, t0: float) -> None:
        if fault.params:
            fault.detail = " ".join(f"{k}={v}" for k, v in fault.params.items())
        fault.started = round(time.monotonic() - t0, 1)
        try:
            with self._injected(fault):
                time.sleep(fault.hold)
        except Exception as exc:  # a fault that could not be injected is reported, not fatal
            fault.error = f"{type(exc).__name__}: {exc}"[:300]
        fault.healed = round(time.monotonic() - t0, 1)
        line = f"  t={fault.started:>6.1f}s  {fault.kind:<10} {fault.target:<32} healed t={fault.healed:.1f}s"
        self.say(
            line
            + (f"  {fault.detail}" if fault.detail else "")
            + (f"  ERROR {fault.error}" if fault.error else "")
        )

    @contextmanager
    def _injected(self, fault: Fault) -> Iterator[None]:
        fleet = self.target.fleet
        kind = fault.kind
        if kind == "kill":
            package, _, number = fault.target.partition("#")
            instance = int(number or 1)
            fleet.kill(package, instance)
            try:
                yield
            finally:
                instances = self.target.orchestrators if package == "saga_orchestrator" else 1
                fleet.start([package], quiet=True, instances=instances, wait=120)
        elif kind == "pause":
            pid = fleet.pid(BY_NAME[fault.target])
            if pid is None:
                raise RuntimeError(f"{fault.target} is not running")
            os.kill(pid, signal.SIGSTOP)
            try:
                yield
            finally:
                os.kill(pid, signal.SIGCONT)
        elif kind == "rabbitmq":
            infra("rabbitmqctl", "stop_app", timeout=90)
            try:
                yield
            finally:
                infra("rabbitmqctl", "start_app", timeout=180)
                wait_until(self.broker.answers, 90, "the RabbitMQ management API")
        elif kind in ENGINE_FAULTS:
            infra("down", kind)
            try:
                yield
            finally:
                infra("up", kind)
        elif kind == "duplicate":
            message = self.broker.recent_message(self.rng)
            if message is None:
                fault.detail = "no message delivered yet"
            else:
                for _ in range(2):
                    self.broker.republish(message)
                fault.detail = (
                    f"{message['routing_key']} {message['properties'].get('message_id')} twice more"
                )
            yield
        elif kind in NETWORK_FAULTS:
            if self.target.network is None:
                raise RuntimeError("the fleet was started without network faults (no proxies)")
            with self.target.network.injected(kind, fault.target, fault.params):
                yield
        elif kind == "poison":
            message_id = f"{POISON_PREFIX}{uuid.uuid4().hex[:12]}"
            self.broker.poison(fault.target, message_id)
            self.poisoned.append(message_id)
            fault.detail = message_id
            yield
        else:
            raise ValueError(f"unknown fault {kind}")


# -- the clients -------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the clients did and were told, shared by the client threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    ops: Counter[str] = field(default_factory=Counter)
    bookings: dict[str, dict[str, Any]] = field(default_factory=dict)  # sagaId -> booking sent
    cancellations: dict[str, str] = field(default_factory=dict)  # sagaId -> reservationId
    cancelled_reservations: set[str] = field(default_factory=set)

    def count(self, what: str) -> None:
        with self.lock:
            self.ops[what] += 1


RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


class Client(threading.Thread):
    def __init__(
        self,
        number: int,
        seed: int,
        target: Target,
        events: list[dict[str, Any]],
        ledger: Ledger,
        stop: threading.Event,
        interval: float,
    ) -> None:
        super().__init__(name=f"client-{number}", daemon=True)
        self.rng = random.Random(seed * 1000 + number)
        self.urls = target.urls()
        self.orchestrators = target.orchestrator_urls()
        self.events = events
        self.ledger = ledger
        self.stop_event = stop
        self.interval = interval
        self.mine: list[str] = []  # booking sagas this client started
        self.http = httpx.Client(timeout=10)

    def run(self) -> None:
        while not self.stop_event.is_set():
            began = time.monotonic()
            roll = self.rng.random()
            try:
                if roll < 0.55:
                    self.book()
                elif roll < 0.7 and self.mine:
                    self.cancel()
                else:
                    self.read()
            except Exception as exc:  # a client never dies of the fleet's faults
                self.ledger.count(f"client error {type(exc).__name__}")
            self.stop_event.wait(max(0.0, self.interval - (time.monotonic() - began)))
        self.http.close()

    def _post(self, path: str, body: dict[str, Any], kind: str) -> httpx.Response | None:
        """POST under one Idempotency-Key, retried (same key, any orchestrator) on transport
        errors and 5xx until an answer or 60 s; None when it never got one."""
        key = str(uuid.uuid4())
        deadline = time.monotonic() + 60
        delay = 0.2
        while time.monotonic() < deadline:
            base = self.rng.choice(self.orchestrators)
            try:
                answer = self.http.post(f"{base}{path}", json=body, headers={"Idempotency-Key": key})
            except httpx.HTTPError:
                self.ledger.count(f"{kind} retries")
            else:
                if answer.status_code not in RETRYABLE:
                    return answer
                self.ledger.count(f"{kind} retries")
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        return None

    def book(self) -> None:
        event = self.rng.choice(self.events)
        user = f"n{uuid.uuid4().hex[:10]}"
        booking = {
            "eventId": event["id"],
            "userId": user,
            "userName": "Awa Ndiaye",
            "userEmail": f"{user}@example.sn",
            "seats": self.rng.randint(1, 4),
            "ticketPrice": event["ticketPrice"],
            "paymentMethod": "mobile_money",
        }
        answer = self._post("/api/saga/booking", booking, "booking")
        if answer is None:
            self.ledger.count("booking unanswered")
        elif answer.status_code == 202:
            saga_id = str(answer.json()["sagaId"])
            with self.ledger.lock:
                self.ledger.ops["booking accepted"] += 1
                self.ledger.bookings[saga_id] = booking
            self.mine.append(saga_id)
        else:
            self.ledger.count(f"booking refused {answer.status_code}")

    def cancel(self) -> None:
        saga_id = self.rng.choice(self.mine)
        saga = self._get(f"{self.rng.choice(self.orchestrators)}/api/saga/{saga_id}")
        if saga is None or saga.get("status") != "COMPLETED" or not saga.get("reservationId"):
            return
        reservation_id = str(saga["reservationId"])
        with self.ledger.lock:
            if reservation_id in self.ledger.cancelled_reservations:
                return
            self.ledger.cancelled_reservations.add(reservation_id)
        body = {"reservationId": reservation_id, "reason": "nemesis client changed its mind"}
        answer = self._post("/api/saga/cancellation", body, "cancellation")
        if answer is None:
            self.ledger.count("cancellation unanswered")
        elif answer.status_code == 202:
            with self.ledger.lock:
                self.ledger.ops["cancellation accepted"] += 1
                self.ledger.cancellations[str(answer.json()["sagaId"])] = reservation_id
        else:
            self.ledger.count(f"cancellation refused {answer.status_code}")

    def read(self) -> None:
        event = self.rng.choice(self.events)
        choice = self.rng.randrange(3)
        if choice == 0:
            self._get(f"{self.urls['event_service']}/api/events/{event['id']}")
        elif choice == 1:
            self._get(
                f"{self.urls['reservation_service']}/api/reservations", {"eventId": event["id"], "size": 5}
            )
        else:
            self._get(f"{self.urls['analytics_service']}/api/analytics/events/{event['id']}")

    def _get(self, url: str, params: dict[str, Any] | None = None) -> dict[str, Any] | None:
        try:
            answer = self.http.get(url, params=params)
        except httpx.HTTPError:
            self.ledger.count("read failed")
            return None
        self.ledger.count("read" if answer.status_code < 500 else "read failed")
        return dict(answer.json()) if answer.status_code == 200 else None


def pace(ledger: Ledger, seconds: float, asked: float) -> dict[str, float]:
    """Operations per second the clients asked for and got through (a retry is part of its
    operation): below the asked rate, the fleet (or the machine) was the limit."""
    done = sum(n for what, n in ledger.ops.items() if not what.endswith(" retries"))
    return {
        "asked": asked,
        "done": round(done / seconds, 1),
        "bookings_accepted": round(ledger.ops["booking accepted"] / seconds, 1),
    }


def create_events(target: Target, count: int) -> list[dict[str, Any]]:
    events = []
    with httpx.Client(timeout=15) as http:
        for n in range(count):
            answer = http.post(
                f"{target.fleet.url('event_service')}/api/events",
                json={
                    "name": f"Nemesis night {n + 1} {uuid.uuid4().hex[:6]}",
                    "description": "fleet nemesis",
                    "eventDate": future_date(),
                    "location": "Dakar Arena",
                    "category": "concert",
                    "totalCapacity": EVENT_CAPACITY,
                    "ticketPrice": 2500 + 500 * n,
                },
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            answer.raise_for_status()
            events.append(dict(answer.json()))
    return events


# -- the check ---------------------------------------------------------------------------------


@dataclass
class Row:
    key: str
    title: str
    checked: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _amount(value: Any) -> Decimal:
    if isinstance(value, dict):
        value = value.get("amount")
    return Decimal(str(value)) if value is not None else Decimal(0)


class Reader:
    """GETs of the services' APIs, every page, with retries (the fleet was just healed)."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls
        self.http = httpx.Client(timeout=20)

    def get(self, service: str, path: str, params: dict[str, Any] | None = None) -> Any:
        last = ""
        for attempt in range(8):
            try:
                answer = self.http.get(self.urls[service] + path, params=params)
            except httpx.HTTPError as exc:
                last = str(exc)
            else:
                if answer.status_code == 404:
                    return None
                if answer.status_code < 500:
                    answer.raise_for_status()
                    return answer.json()
                last = f"HTTP {answer.status_code}"
            time.sleep(0.5 * (attempt + 1))
        raise RuntimeError(f"{service} GET {path}: {last}")

    def pages(self, service: str, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page = 1
        while not add_page(items, self.get(service, path, page_params(params, page))):
            page += 1
        return items


def quiesce(target: Target, broker: Broker, seconds: float, say: Callable[[str], None]) -> float:
    """Wait until no saga is in flight and no queue of the fleet holds a message (four looks
    in a row); seconds waited. Raises TimeoutError past `seconds`."""
    reader = Reader(target.urls() | {"saga": target.fleet.url("saga_orchestrator")})
    began = time.monotonic()
    calm = 0

    def settled() -> bool:
        nonlocal calm
        busy = sum(
            int(reader.get("saga", "/api/saga", {"status": s, "size": 1})["total"])
            for s in ("STARTED", "RUNNING", "COMPENSATING")
        )
        calm = calm + 1 if busy == 0 and broker.held() == 0 else 0
        return calm >= 4

    say("waiting for quiescence (no saga in flight, every queue drained) ...")
    # The management API's queue counts are sampled every 5 s: four calm looks 5 s apart.
    wait_until(settled, seconds, "quiescence", every=5.0)
    return round(time.monotonic() - began, 1)


def check(
    target: Target, broker: Broker, ledger: Ledger, poisoned: list[str], say: Callable[[str], None]
) -> list[Row]:
    rows = {key: Row(key, title) for key, title in INVARIANTS}
    urls = target.urls()
    reader = Reader(urls)
    say("checking the ledger ...")

    # Sagas: every one the orchestrators know, the accepted ones among them.
    sagas = {str(s["sagaId"]): s for s in reader.pages("saga_orchestrator", "/api/saga")}
    accepted = list(ledger.bookings) + list(ledger.cancellations)
    row = rows["sagas_terminal"]
    row.checked = len(accepted)
    for saga_id in accepted:
        saga = sagas.get(saga_id)
        if saga is None:
            row.failures.append(f"saga {saga_id}: accepted (202) but unknown to the orchestrator")
        elif saga["status"] not in TERMINAL_SAGA_STATES:
            row.failures.append(f"saga {saga_id}: {saga['status']} at {saga.get('currentStep')}")
    row.notes.append(f"{len(sagas)} saga(s) known to the orchestrator")
    row = rows["compensation_failed"]
    row.checked = len(sagas)
    for saga in sagas.values():
        if saga["status"] == "COMPENSATION_FAILED":
            row.failures.append(f"saga {saga['sagaId']} ({saga['type']}): {saga.get('error')}")

    # Seats and money, per event.
    events = reader.pages("event_service", "/api/events")
    reservations = reader.pages("reservation_service", "/api/reservations")
    payments = reader.pages("payment_service", "/api/payments")
    by_reservation: dict[str, list[dict[str, Any]]] = {}
    for payment in payments:
        by_reservation.setdefault(str(payment["reservationId"]), []).append(payment)
    row = rows["seats"]
    for event in events:
        row.checked += 1
        mine = [r for r in reservations if int(r["eventId"]) == int(event["id"])]
        confirmed = sum(int(r["bookingDetails"]["seats"]) for r in mine if r["status"] == "confirmed")
        pending = [r["id"] for r in mine if r["status"] == "pending"]
        capacity = int(event["totalCapacity"])
        ceiling = capacity - _safety_margin(capacity)
        booked = int(event["bookedSeats"])
        if booked != confirmed:
            row.failures.append(f"event {event['id']}: bookedSeats {booked} != {confirmed} confirmed")
        if booked > ceiling:
            row.failures.append(f"event {event['id']}: bookedSeats {booked} above {ceiling}")
        if pending:
            row.failures.append(f"event {event['id']}: {len(pending)} reservation(s) still pending")
    row = rows["payments"]
    for saga in sagas.values():
        if saga["type"] != "booking":
            continue
        row.checked += 1
        charged = by_reservation.get(str(saga.get("reservationId") or ""), [])
        completed = [p for p in charged if p["status"] == "completed"]
        if len(completed) > 1:
            row.failures.append(f"saga {saga['sagaId']}: {len(completed)} completed payments")
        if saga["status"] == "COMPENSATED":
            kept = [p for p in charged if p["status"] not in ("refunded", "failed")]
            if kept:
                row.failures.append(
                    f"saga {saga['sagaId']} COMPENSATED, payment(s) "
                    + ", ".join(f"{p['id']}:{p['status']}" for p in kept)
                )
    row = rows["money"]
    paid = sum((_amount(p["amount"]) for p in payments if p["status"] == "completed"), Decimal(0))
    owed = sum(
        (_amount(r["bookingDetails"].get("totalAmount")) for r in reservations if r["status"] == "confirmed"),
        Decimal(0),
    )
    row.checked = len(payments)
    row.notes.append(f"completed payments {paid}, confirmed reservations {owed}")
    if paid != owed:
        row.failures.append(f"completed payments sum to {paid}, confirmed reservations to {owed}")

    # The event store: each message once, gapless per aggregate.
    stored = reader.pages("event_store_service", "/api/events")
    row = rows["event_store"]
    row.checked = len(broker.produced)
    ids = Counter(str(e["eventId"]) for e in stored)
    for message_id, n in ids.items():
        if n > 1:
            row.failures.append(f"message {message_id} stored {n} times")
    # Every message the fleet published (the tap saw it) is in the store, under its id.
    for message_id, message in broker.produced.items():
        if message_id not in ids:
            row.failures.append(f"message {message_id} ({message['routing_key']}) never recorded")
    row.notes.append(f"{len(broker.produced)} message(s) published, {len(stored)} stored")
    streams: dict[str, list[int]] = {}
    for e in stored:
        # The stream's id already names its type: EVENT-12, RESERVATION-<id>, SAGA-<id>.
        streams.setdefault(str(e["aggregateId"]), []).append(int(e["version"]))
    for stream, versions in streams.items():
        if sorted(versions) != list(range(1, len(versions) + 1)):
            row.failures.append(f"{stream}: versions {sorted(versions)[:8]} not 1..{len(versions)}")
    wanted = [f"EVENT-{e['id']}" for e in events] + [f"RESERVATION-{r['id']}" for r in reservations]
    wanted += [f"SAGA-{s['sagaId']}" for s in sagas.values() if s["type"] == "booking"]
    for stream in wanted:
        if stream not in streams:
            row.failures.append(f"{stream}: no message recorded")
    row.notes.append(f"{len(streams)} aggregate stream(s)")

    # Notifications: one per confirmed booking.
    row = rows["notifications"]
    for saga in sagas.values():
        if saga["type"] != "booking" or saga["status"] != "COMPLETED":
            continue
        row.checked += 1
        notes = reader.pages(
            "notification_service", f"/api/notifications/user/{quote(str(saga['userId']), safe='')}"
        )
        if not any(
            n["type"] == "booking.confirmed" and n.get("relatedIds", {}).get("sagaId") == saga["sagaId"]
            for n in notes
        ):
            row.failures.append(f"saga {saga['sagaId']}: no booking.confirmed notification")

    # Queues: drained; dead letters only the injected poison, each with its reason.
    row = rows["queues"]

    def drained() -> bool:
        return broker.held() == 0

    # A queue still draining gets 30 s more (its counts are sampled every 5 s).
    with suppress(TimeoutError):
        wait_until(drained, 30, "every queue drained", every=5.0)
    for queue in broker.queues():
        row.checked += 1
        name = str(queue["name"])
        if name.endswith(".dlq"):
            for message in broker.peek_all(name):
                props = message.get("properties") or {}
                headers = props.get("headers") or {}
                reason = (
                    headers.get("x-unreadable-reason") or headers.get("x-last-error") or "no reason given"
                )
                message_id = str(props.get("message_id"))
                line = f"{name}: {message_id}: {str(reason)[:120]}"
                (row.notes if message_id in poisoned else row.failures).append(line)
        else:
            count = held(queue)
            if count:
                row.failures.append(
                    f"{name}: {count} message(s) ({queue.get('messages_unacknowledged')} unacknowledged, "
                    f"{queue.get('consumers')} consumer(s))"
                )

    dead = [n for n in row.notes if ".dlq: " in n]
    if dead:
        row.notes.insert(
            0, f"{len(dead)} dead letter(s), every one an injected poison ({len(poisoned)} sent)"
        )
    # `fleet check`'s comparisons (live seats, payments per reservation, analytics, streams).
    report = run_check(urls, target.prefix, settle_seconds=30, stuck_seconds=0)
    mapping = {
        "seats": "seats",
        "payments": "payments",
        "analytics": "analytics",
        "event_store": "event_store",
    }
    rows["analytics"].checked = len(events)
    for problem in report.problems:
        key = mapping.get(problem.check)
        if problem.check in ("dead_letters", "sagas"):
            continue  # listed above with their reasons
        rows[key or "sagas_terminal"].failures.append(_problem_line(problem))
    return list(rows.values())


def _problem_line(problem: Problem) -> str:
    got = f"got {problem.actual} {problem.detail}".strip()
    return f"fleet check: {problem.subject}: expected {problem.expected}, {got}"


# -- the run -----------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    lines = [f"{'':2} {'invariant':<84} {'checked':>8} {'failed':>7}"]
    for row in rows:
        lines.append(f"{'✓' if row.ok else '✗':2} {row.title:<84} {row.checked:>8} {len(row.failures):>7}")
        for text in row.failures[:10]:
            lines.append(f"     ✗ {text}")
        if len(row.failures) > 10:
            lines.append(f"     … {len(row.failures) - 10} more")
        for text in row.notes[:10]:
            lines.append(f"     · {text}")
        if len(row.notes) > 10:
            lines.append(f"     · … {len(row.notes) - 10} more (all in the JSON)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    def say(line: str) -> None:
        print(line, flush=True)

    kinds = [k.strip() for k in args.faults.split(",") if k.strip()] if args.faults else list(FAULT_KINDS)
    if "network" in kinds:  # shorthand for the five network kinds
        at = kinds.index("network")
        kinds[at : at + 1] = [k for k in NETWORK_FAULTS if k not in kinds]
    unknown = sorted(set(kinds) - set(ALL_KINDS))
    if unknown:
        raise SystemExit(f"unknown fault kind(s): {', '.join(unknown)}; known: {', '.join(ALL_KINDS)}")
    network_faults = any(k in NETWORK_FAULTS for k in kinds)
    if network_faults and args.here:
        raise SystemExit("network faults need an isolated fleet started with its proxies: drop --here")
    os.environ.setdefault("TP4_DATA_DIR", str(ROOT / ".data"))
    seconds = args.minutes * 60
    target = (
        here_target(args.orchestrators)
        if args.here
        else isolated_target(args.orchestrators, say, network_faults=network_faults)
    )
    env = {**FLEET_SETTINGS, **target.fleet.env} if not args.here else dict(os.environ)
    pause = args.pause_seconds or step_timeout(env) + 2
    services = [s.package for s in SERVICES]
    if args.orchestrators > 1:
        services += [f"saga_orchestrator#{n}" for n in range(2, args.orchestrators + 1)]
    faults = schedule(args.seed, seconds, kinds, services, pause, LINK_NAMES if network_faults else ())
    broker = Broker(target)
    ledger = Ledger()
    result: dict[str, Any] = {"seed": args.seed, "minutes": args.minutes, "orchestrators": args.orchestrators}
    code = 1
    try:
        broker.open_tap()
        # Two events a minute at 4 op/s (capacity 100: they sell out and late bookings are
        # declined), more at a higher rate so that most bookings still find seats.
        events = create_events(target, max(4, round(args.minutes * 2 * max(1.0, args.rate / 4))))
        stop = threading.Event()
        clients = [
            Client(n, args.seed, target, events, ledger, stop, args.clients / args.rate)
            for n in range(args.clients)
        ]
        say(
            f"nemesis: seed {args.seed}, {args.minutes:g} min, {args.clients} clients at {args.rate:g} op/s, "
            f"{len(faults)} faults scheduled ({', '.join(kinds)}); step timeout {step_timeout(env):.1f} s, "
            f"pauses {pause:.1f} s+"
        )
        say("fault timeline:")
        nemesis = Nemesis(target, broker, args.seed, say)
        t0 = time.monotonic()
        for client in clients:
            client.start()
        try:
            for fault in faults:
                # Restarts take longer than scheduled: the calm before each fault is kept.
                time.sleep(fault.gap)
                if not fault.first and time.monotonic() - t0 + fault.hold >= seconds:
                    break
                nemesis.run(fault, t0)
            rest = seconds - (time.monotonic() - t0)
            if rest > 0:
                time.sleep(rest)
        finally:
            stop.set()
            for client in clients:
                client.join(timeout=90)
        ran = [f for f in faults if f.started is not None]
        loaded = time.monotonic() - t0
        say(f"load stopped after {loaded:.0f} s; {len(ran)} fault(s) injected and healed")
        target.fleet.wait_ready(
            [
                s.nth(n)
                for s in SERVICES
                for n in range(1, (args.orchestrators if s.package == "saga_orchestrator" else 1) + 1)
            ],
            timeout=180,
            quiet=True,
        )
        quiet_after: float | None = None
        try:
            quiet_after = quiesce(target, broker, args.quiesce_seconds, say)
        except TimeoutError as exc:
            say(f"  {exc}: checking anyway")
        broker.drain_tap()
        broker.close_tap()
        rows = check(target, broker, ledger, nemesis.poisoned, say)
        sagas = Reader(target.urls()).pages("saga_orchestrator", "/api/saga")
        outcomes = Counter(f"{s['type']} {s['status']}" for s in sagas)
        say("")
        say("operations: " + ", ".join(f"{k} {v}" for k, v in sorted(ledger.ops.items())))
        throughput = pace(ledger, loaded, args.rate)
        say(
            f"throughput: {throughput['asked']:g} op/s asked, {throughput['done']:g} op/s done, "
            f"{throughput['bookings_accepted']:g} bookings/s accepted"
        )
        say("faults: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(f.kind for f in ran).items())))
        links = links_hit(ran)
        for kind, hit in links.items():
            say(f"  {kind} on {len(hit)} link(s): {', '.join(hit)}")
        say("sagas: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
        say(f"quiescence after {quiet_after} s" if quiet_after is not None else "no quiescence")
        say("")
        say(table(rows))
        ok = all(r.ok for r in rows) and quiet_after is not None and not any(f.error for f in ran)
        say("")
        say("nemesis: every invariant holds" if ok else "nemesis: ✗ see above")
        result.update(
            ok=ok,
            operations=dict(ledger.ops),
            throughput=throughput,
            faults=[asdict(f) for f in ran],
            links=links,
            sagas=dict(outcomes),
            quiescence_seconds=quiet_after,
            invariants=[{**asdict(r), "ok": r.ok} for r in rows],
        )
        code = 0 if ok else 1
    finally:
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n")
        if target.discard is not None and not args.keep:
            target.discard()
    return code


def add_command(sub: Any) -> None:
    cmd = sub.add_parser(
        "nemesis",
        help="load, random faults from a seeded schedule, then a full-ledger check",
        description="Clients book, cancel and read while faults are injected and healed; then every "
        "invariant is checked from the services' APIs and the broker. Exit 0 when all hold.",
    )
    cmd.add_argument("--minutes", type=float, default=2.0, help="how long the load and the faults run")
    cmd.add_argument("--seed", type=int, default=1, help="the schedule's seed (same seed, same faults)")
    cmd.add_argument("--json", metavar="PATH", help="write the result as JSON there")
    cmd.add_argument("--here", action="store_true", help="on the running fleet instead of an isolated one")
    cmd.add_argument("--orchestrators", type=int, default=1, help="saga orchestrator instances")
    cmd.add_argument(
        "--faults",
        help=f"comma-separated kinds (default: {','.join(FAULT_KINDS)}); engine kinds restart the "
        f"engines every fleet on the machine shares; network kinds ({','.join(NETWORK_FAULTS)}, or "
        "`network` for all five) put the isolated fleet's links behind Toxiproxy",
    )
    cmd.add_argument("--clients", type=int, default=4, help="client threads")
    cmd.add_argument("--rate", type=float, default=4.0, help="operations per second, all clients together")
    cmd.add_argument("--pause-seconds", type=float, help="SIGSTOP length (default: the step timeout + 2 s)")
    cmd.add_argument("--quiesce-seconds", type=float, default=240.0, help="longest wait for quiescence")
    cmd.add_argument("--keep", action="store_true", help="leave the isolated fleet running afterwards")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fleet")
    add_command(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
