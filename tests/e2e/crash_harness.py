"""Every crash point of the two sagas, one by one (issue 29; docs/resilience.md).

A first, clean run of each scenario (a booking COMPLETED, a booking declined by the payment
provider and so COMPENSATED, a cancellation COMPLETED) counts the points it reaches
(shared/crashpoints.py's counting mode): before and after each durable write of the
orchestrator and each participant call, and on the participants each call committed before
its answer. Then one saga per point, each with its own event, is crashed there:

- restart: the orchestrator is SIGKILLed at the point and started again; it takes the saga
  over once the lease has run out;
- takeover: two orchestrators; the one driving the saga is SIGKILLed at the point and the
  other takes it over (its log says it resumed it); the dead one is started again, and the
  next saga is started at it, so they take turns;
- participant: the participant is SIGKILLed right after its commit, before its answer, and
  started again; the orchestrator's retries or its fence settle the call.

Each run must end terminal with the clean run's status, its own ledger right (its event's
seats, its reservation, its payment and refund), and at the end `fleet check` over the whole
fleet (seats, payments, read models, the event store, dead letters) must find nothing. One
fleet serves every run, in sequence: each saga ends before the next one starts, since a kill
would crash every saga in flight.

    .venv/bin/python -m tests.e2e.crash_harness     # an isolated fleet; prints the table
"""

import contextlib
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fleetctl.check import Report
from fleetctl.fleet import BY_NAME
from fleetctl.story import DECLINE_ABOVE, TERMINAL_SAGA_STATES
from tests.chaos.tools import ChaosFleet
from tests.support import IsolatedFleet, isolated_fleet

ORCHESTRATOR = "saga_orchestrator"
SCENARIOS = ("booking", "declined", "cancellation")
EXPECTED = {"booking": "COMPLETED", "declined": "COMPENSATED", "cancellation": "COMPLETED"}
PRICE = 2500
# Above the payment provider's decline limit: the charge is declined, the booking compensated.
DECLINED_PRICE = int(DECLINE_ABOVE) + 500_000
# What a saga's own event, reservation and payments must show once it ended so: its event's
# booked seats, its reservation's status, and its payments by status (each allowed set).
LEDGER: dict[tuple[str, str], tuple[int, str, list[dict[str, int]]]] = {
    ("booking", "COMPLETED"): (1, "confirmed", [{"completed": 1}]),
    # Compensated (a participant's crash lost an answer for good): nothing kept, no money taken.
    ("booking", "COMPENSATED"): (0, "cancelled", [{}, {"failed": 1}, {"refunded": 1}]),
    # Declined; or compensated before the charge (a reservation's answer lost for good).
    ("declined", "COMPENSATED"): (0, "cancelled", [{"failed": 1}, {}]),
    ("cancellation", "COMPLETED"): (0, "cancelled", [{"refunded": 1}]),
    # Refused, and undone before any money went back: the booking stands as it was.
    ("cancellation", "COMPENSATED"): (1, "confirmed", [{"completed": 1}]),
}
# The participant whose process serves each call (its Idempotency-Key's step).
PARTICIPANT_OF = {
    "event-service": "event_service",
    "reservation-service": "reservation_service",
    "payment-service": "payment_service",
}
# Short leases and passes, so a crashed saga is taken over within a second or two.
FAST = {
    "SAGA_LEASE_SECONDS": "1.5",
    "SAGA_RECOVERY_INTERVAL_SECONDS": "0.2",
    "SAGA_COMPENSATION_RETRY_SECONDS": "0.5",
    "HTTP_BACKOFF_SECONDS": "0.2",
    "SAGA_HTTP_BACKOFF_SECONDS": "0.2",
    "CONSUMER_RETRY_DELAY_MS": "200",
    "CONSUMER_MAX_RETRIES": "3",
}


@dataclass(frozen=True)
class Point:
    scenario: str
    process: str  # the package killed there
    name: str  # the crash point, as crash_point() names it


@dataclass
class Run:
    point: Point
    mode: str  # restart | takeover | participant
    key: str
    saga_id: str = ""
    status: str = ""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    subjects: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Harness:
    chaos: ChaosFleet
    log: Path
    runs: list[Run] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    # Seconds a crashed saga may take to end (a run whose saga was never taken over waits it).
    settle_seconds: float = 60.0
    say: Callable[[str], None] = print

    def _done(self, run: Run) -> None:
        self.runs.append(run)
        self.say(line(run))

    @property
    def fleet(self) -> IsolatedFleet:
        fleet = self.chaos.fleet
        assert isinstance(fleet, IsolatedFleet)
        return fleet

    def orchestrator_url(self, instance: int = 1) -> str:
        return self.chaos.instance_url(ORCHESTRATOR, instance)

    # -- the business -------------------------------------------------------------------------

    def _event(self, scenario: str) -> dict[str, Any]:
        price = DECLINED_PRICE if scenario == "declined" else PRICE
        return self.chaos.create_event(capacity=10, price=price, name=f"Crash {scenario}")

    def _post(self, url: str, body: dict[str, Any], key: str) -> httpx.Response | None:
        """The start request; None when the orchestrator died before answering."""
        try:
            return self.chaos.http.post(url, json=body, headers={"Idempotency-Key": key}, timeout=30)
        except httpx.TransportError:
            return None

    def _prepare(self, scenario: str, instance: int) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """(path, body) of the saga's start request, and its event; a cancellation cancels a
        booking made first (and not crashed)."""
        event = self._event(scenario)
        booking = self.chaos.booking(event)
        if scenario != "cancellation":
            return "/api/saga/booking", booking, event
        saga_id = self.chaos.start_saga(booking, self.orchestrator_url(instance))
        while (saga := self._saga(saga_id, instance))["status"] not in TERMINAL_SAGA_STATES:
            time.sleep(0.05)
        assert saga["status"] == "COMPLETED", saga
        body = {"reservationId": saga["reservationId"], "userId": booking["userId"], "reason": "crash test"}
        return "/api/saga/cancellation", body, event

    def _start(self, instance: int, path: str, body: dict[str, Any], key: str) -> str | None:
        answer = self._post(f"{self.orchestrator_url(instance)}{path}", body, key)
        if answer is None:
            return None
        assert answer.status_code == 202, answer.text
        return str(answer.json()["sagaId"])

    # -- the clean run ------------------------------------------------------------------------

    def count(self) -> list[Point]:
        """Run each scenario once without a crash; the points each reached, in order."""
        for scenario in SCENARIOS:
            path, body, _ = self._prepare(scenario, 1)
            self.log.write_text("")  # the cancellation's booking is not counted
            key = f"clean-{scenario}-{uuid.uuid4().hex[:8]}"
            saga_id = self._start(1, path, body, key)
            assert saga_id is not None
            (saga,) = self.chaos.wait_sagas([saga_id], 60)
            assert saga["status"] == EXPECTED[scenario], saga
            # A participant's point is logged before its answer, so before the saga ends.
            for entry in self.log.read_text().splitlines():
                service, name, scope = entry.split(" ", 2)
                if scope in (key, saga_id):
                    point = Point(scenario, PARTICIPANT_OF.get(service, ORCHESTRATOR), name)
                    if point not in self.points:
                        self.points.append(point)
        return self.points

    # -- the crashed runs ---------------------------------------------------------------------

    def _saga(self, saga_id: str, instance: int) -> dict[str, Any]:
        answer = self.chaos.http.get(f"{self.orchestrator_url(instance)}/api/saga/{saga_id}")
        answer.raise_for_status()
        return dict(answer.json())

    def wait_terminal(self, saga_id: str, instance: int, seconds: float) -> dict[str, Any]:
        """The saga once terminal, or as it is after `seconds`."""
        deadline = time.monotonic() + seconds
        while (saga := self._saga(saga_id, instance))["status"] not in TERMINAL_SAGA_STATES:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        return saga

    def _wait_dead(self, process: str, instance: int, saga_id: str, seconds: float = 20) -> bool:
        """Whether the process died (at its point) before the saga ended or the deadline."""
        service = BY_NAME[process].nth(instance)
        reader = instance if process != ORCHESTRATOR else None
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.fleet.pid(service) is None:
                return True
            if saga_id and reader is not None and self._saga(saga_id, 1)["status"] in TERMINAL_SAGA_STATES:
                time.sleep(0.3)
                return self.fleet.pid(service) is None
            time.sleep(0.05)
        return False

    def _launch(self, process: str, armed: str = "", instances: int = 1, wait: bool = True) -> None:
        """Start what is down of `process` (up to its `instances`), armed at `armed`
        (TP4_CRASH_AT); `wait`: until ready."""
        self.fleet.env["TP4_CRASH_AT"] = armed
        try:
            self.fleet.start([process], quiet=True, instances=instances, wait=60 if wait else 0)
        finally:
            self.fleet.env.pop("TP4_CRASH_AT", None)

    def _settle(
        self, run: Run, path: str, body: dict[str, Any], instance: int, event: dict[str, Any]
    ) -> None:
        """After the crash: the saga (started again under its key if its start was cut) ends
        terminal with the clean run's status, and its own ledger is right. `instance`: the
        orchestrator asked."""
        if not run.saga_id:
            saga_id = self._start(instance, path, body, run.key)
            if saga_id is None:
                run.problems.append("the start request under its key was not answered after the restart")
                return
            run.saga_id = saga_id
        saga = self.wait_terminal(run.saga_id, instance, self.settle_seconds)
        if saga["status"] not in TERMINAL_SAGA_STATES:
            run.status = saga["status"]
            run.problems.append(
                f"not terminal after {self.settle_seconds:.0f} s: {saga['status']} at {saga['currentStep']}"
            )
            return
        run.status = saga["status"]
        run.subjects.update({f"event {event['id']}", run.saga_id})
        if saga.get("reservationId"):
            run.subjects.add(str(saga["reservationId"]))
        # The orchestrator's crash never changes what a saga decides; a participant's may (a
        # charge whose answer was lost for good is compensated), as long as the ledger agrees.
        if run.status != EXPECTED[run.point.scenario] and run.mode != "participant":
            run.problems.append(
                f"ended {run.status} (clean run: {EXPECTED[run.point.scenario]}): {saga['error']}"
            )
        run.problems.extend(self._ledger(run, saga, event))

    def _ledger(self, run: Run, saga: dict[str, Any], event: dict[str, Any]) -> list[str]:
        """This run's own event, reservation and payments, as its saga's outcome says they
        must be (LEDGER)."""
        expected = LEDGER.get((run.point.scenario, run.status))
        if expected is None:
            return [f"a {run.point.scenario} saga must not end {run.status}: {saga['error']}"]
        seats, reservation_status, payments_allowed = expected
        problems = []
        booked = self.chaos.event(event["id"])["bookedSeats"]
        if booked != seats:
            problems.append(f"event {event['id']} bookedSeats {booked}, expected {seats}")
        reservation_id = saga.get("reservationId")
        if reservation_id is None:
            if reservation_status != "cancelled":  # a reservation never made is not live either
                problems.append("no reservation id on the saga")
            return problems
        urls = self.chaos.urls()
        answer = self.chaos.http.get(f"{urls['reservation_service']}/api/reservations/{reservation_id}")
        status = answer.json().get("status") if answer.status_code == 200 else answer.status_code
        if status != reservation_status:
            problems.append(f"reservation {reservation_id} {status}, expected {reservation_status}")
        payments = self.chaos.http.get(
            f"{urls['payment_service']}/api/payments", params={"reservationId": reservation_id}
        ).json()["items"]
        found = dict(Counter(p["status"] for p in payments))
        if found not in payments_allowed:
            problems.append(f"payments {found}, expected one of {payments_allowed}")
        return problems

    def _resumed_by(self, instance: int, saga_id: str) -> bool:
        log = self.fleet.log_dir / f"{BY_NAME[ORCHESTRATOR].nth(instance).name}.log"
        return f"resuming saga {saga_id}" in log.read_text(errors="replace")

    def restarts(self, points: list[Point]) -> None:
        """Each point: one orchestrator, killed there and started again (armed for the next
        point while the crashed saga waits for its lease to run out)."""
        keys = [f"crash-{uuid.uuid4().hex[:12]}" for _ in points]
        armed = [f"{p.name}@{k}" for p, k in zip(points, keys, strict=True)] + [""]
        self.fleet.kill(ORCHESTRATOR)
        self._launch(ORCHESTRATOR, armed[0])
        for n, point in enumerate(points):
            run = Run(point, "restart", keys[n])
            path, body, event = self._prepare(point.scenario, 1)
            started = time.monotonic()
            run.saga_id = self._start(1, path, body, run.key) or ""
            if not self._wait_dead(ORCHESTRATOR, 1, run.saga_id):
                run.problems.append("point not reached")
                self.fleet.kill(ORCHESTRATOR, 1)
            self._launch(ORCHESTRATOR, armed[n + 1])
            self._settle(run, path, body, 1, event)
            run.seconds = time.monotonic() - started
            self._done(run)

    def takeovers(self, points: list[Point]) -> None:
        """Each point: two orchestrators; the one that started the saga is killed there, the
        other takes it over, and the dead one is started again (armed for its next turn, the
        point after next) while the next saga runs at its twin."""
        keys = [f"crash-{uuid.uuid4().hex[:12]}" for _ in points]
        armed = [f"{p.name}@{k}" for p, k in zip(points, keys, strict=True)] + ["", ""]
        self.fleet.kill(ORCHESTRATOR)
        self._launch(ORCHESTRATOR, armed[0])
        self._launch(ORCHESTRATOR, armed[1], instances=2)
        for n, point in enumerate(points):
            instance, survivor = 1 + n % 2, 2 - n % 2
            # Both up: the survivor must be there when its twin dies, to take the saga over.
            both = [BY_NAME[ORCHESTRATOR].nth(i) for i in (1, 2)]
            self.fleet.wait_ready(both, timeout=60, quiet=True)
            run = Run(point, "takeover", keys[n])
            path, body, event = self._prepare(point.scenario, instance)
            started = time.monotonic()
            run.saga_id = self._start(instance, path, body, run.key) or ""
            if not self._wait_dead(ORCHESTRATOR, instance, run.saga_id):
                run.problems.append("point not reached")
                self.fleet.kill(ORCHESTRATOR, instance)
            self._settle(run, path, body, survivor, event)
            if (
                run.saga_id
                and not _nothing_to_take_over(point)
                and not self._resumed_by(survivor, run.saga_id)
            ):
                run.problems.append(f"not taken over by orchestrator {survivor}")
            self._launch(ORCHESTRATOR, armed[n + 2], instances=2, wait=False)
            run.seconds = time.monotonic() - started
            self._done(run)
        self.fleet.kill(ORCHESTRATOR)
        self._launch(ORCHESTRATOR)

    def participants(self, points: list[Point]) -> None:
        """Each point: the participant killed right after its commit, before its answer, and
        started again (unarmed)."""
        for point in points:
            run = Run(point, "participant", f"crash-{uuid.uuid4().hex[:12]}")
            path, body, event = self._prepare(point.scenario, 1)
            started = time.monotonic()
            self.fleet.stop([point.process])
            self._launch(point.process, point.name)
            run.saga_id = self._start(1, path, body, run.key) or ""
            if not self._wait_dead(point.process, 1, run.saga_id):
                run.problems.append("point not reached")
                self.fleet.stop([point.process])
            self._launch(point.process)
            self._settle(run, path, body, 1, event)
            run.seconds = time.monotonic() - started
            self._done(run)

    def run_all(self, modes: tuple[str, ...] = ("restart", "takeover", "participant")) -> list[Run]:
        orchestrator = [p for p in self.points if p.process == ORCHESTRATOR]
        if "restart" in modes:
            self.restarts(orchestrator)
        if "participant" in modes:
            self.participants([p for p in self.points if p.process != ORCHESTRATOR])
        if "takeover" in modes:
            self.takeovers(orchestrator)
        return self.runs

    def attribute(self, report: Report) -> list[str]:
        """`fleet check`'s problems, each given to the run whose event, reservation or saga it
        names; those no run owns are returned."""
        unowned = []
        for problem in report.problems:
            text = f"{problem.subject} {problem.expected} {problem.actual}"
            owners = [r for r in self.runs if any(s in text for s in r.subjects)]
            for run in owners:
                run.problems.append(f"fleet check {problem.check}: {problem.subject}: {problem.actual}")
            if not owners:
                unowned.append(
                    f"{problem.check}: {problem.subject}: expected {problem.expected}, {problem.actual}"
                )
        return unowned


def _nothing_to_take_over(point: Point) -> bool:
    """A crash before the saga's row exists (its start is retried) or after its terminal
    status is written leaves no saga for the other orchestrator to take over."""
    ended = point.name.startswith("after:status:") and point.name.rsplit(":", 1)[1] in TERMINAL_SAGA_STATES
    return point.name == "before:create" or ended


HEADER = f"{'scenario':<13} {'mode':<11} {'process':<20} {'point':<38} {'ended':<12} {'s':>5}  verdict"


def line(run: Run) -> str:
    """One crashed saga: where, how it ended, how long it took, and its verdict."""
    point = run.point
    verdict = "consistent" if run.ok else "; ".join(run.problems)
    return (
        f"{point.scenario:<13} {run.mode:<11} {point.process:<20} {point.name:<38} "
        f"{run.status or '-':<12} {run.seconds:>5.1f}  {verdict}"
    )


def table(runs: list[Run]) -> str:
    """The points and their outcomes, one line per crashed saga."""
    lines = [HEADER, *(line(run) for run in runs)]
    by_mode = Counter(r.mode for r in runs)
    failed = sum(not r.ok for r in runs)
    lines.append(f"{len(runs)} crashed sagas ({dict(by_mode)}), {failed} inconsistent")
    return "\n".join(lines)


@contextlib.contextmanager
def crash_fleet(extra_env: dict[str, str] | None = None) -> Iterator[Harness]:
    """An isolated fleet in counting mode, with two orchestrators, and its harness."""
    fleet = isolated_fleet()
    log = fleet.run_dir / "crashpoints.log"
    fleet.run_dir.mkdir(parents=True, exist_ok=True)
    fleet.env.update({**FAST, "TP4_CRASH_LOG": str(log), **(extra_env or {})})
    chaos = ChaosFleet(fleet)
    try:
        fleet.start(quiet=True, wait=120)
        yield Harness(chaos, log)
    finally:
        chaos.close()


def main(argv: list[str] | None = None) -> int:
    """Every mode, or those named (restart, takeover, participant)."""
    modes = tuple(argv if argv is not None else sys.argv[1:]) or ("restart", "takeover", "participant")
    began = time.monotonic()
    with crash_fleet() as harness:
        harness.say = lambda text: print(text, flush=True)
        points = harness.count()
        print(f"clean run: {len(points)} crash points", flush=True)
        for point in points:
            print(f"  {point.scenario:<13} {point.process:<20} {point.name}", flush=True)
        print(HEADER, flush=True)
        harness.run_all(modes)
        report = harness.chaos.check()
        unowned = harness.attribute(report)
        print(table(harness.runs))
        print(json.dumps({"fleetCheck": report.ok, "unowned": unowned}))
        print(f"took {time.monotonic() - began:.0f} s")
        return 0 if report.ok and all(r.ok for r in harness.runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
