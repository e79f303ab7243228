"""`fleet check`: do the seven services agree with each other? Read over their HTTP APIs only.

Each service owns its database, so consistency across them is a claim to verify from the
outside, the way an operator would: this module reads the services' public APIs (never a
database) and the RabbitMQ management API, and reports every difference:

- seats: an event's bookedSeats equals the seats of its live (pending + confirmed)
  reservations, plus at most the seats of sagas still in flight on it;
- payments: a saga's confirmed reservation has a completed payment; a completed payment
  belongs to a confirmed reservation (else money was taken for nothing); a cancelled
  booking's payment is refunded (a refund stuck in refunding or refund_failed is reported);
- analytics: the read model's bookedSeats, totalCapacity, occupancyRate and eventVersion
  equal the event service's;
- event store: the `EVENT-<id>` stream is gapless 1..n and its last eventData.version is the
  event's version; a `RESERVATION-<id>` stream exists for each reservation, gapless, its last
  status the reservation's (except a direct reservation whose seats the event service refused:
  it was never announced, so it has none);
- sagas: none non-terminal for longer than `stuck_seconds`, none COMPENSATION_FAILED;
- dead letters: no `<prefix><consumer>.dlq` queue holds a message.

Read models converge asynchronously, so a difference is re-checked for `settle_seconds`
before it is reported. `run_check` is the entry point for tests; `main` for the CLI.
"""

import argparse
import asyncio
import concurrent.futures
import functools
import math
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote

import httpx

from fleetctl.messages import MESSAGES
from fleetctl.messages import say as said
from fleetctl.story import PACKAGES, URL_ENV

RABBITMQ_API = "http://127.0.0.1:15672/api"
LIVE_RESERVATIONS = frozenset({"pending", "confirmed"})
IN_FLIGHT_SAGAS = ("STARTED", "RUNNING", "COMPENSATING")
PAGE_SIZE = 100
# A dead-letter queue of the fleet: `<prefix><service>.<consumer>.dlq`. Another fleet's
# queues (a test prefix such as `e2e_ab12.`) have one more dot and are left alone.
DLQ_NAME = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.dlq$")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Problem:
    check: str  # seats | payments | analytics | event_store | sagas | dead_letters | reachability
    subject: str  # what disagrees, e.g. "event 12", "reservation 65f...", "queue x.dlq"
    expected: str
    actual: str
    detail: str = ""


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    rounds: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def by_check(self, check: str) -> list[Problem]:
        return [p for p in self.problems if p.check == check]

    def table(self) -> str:
        """A readable summary: what was checked, then one line per difference."""
        checked = ", ".join(
            said(f"check.count.{what}", n=n) if f"check.count.{what}" in MESSAGES else f"{n} {what}"
            for what, n in self.counts.items()
        )
        if self.ok:
            return said("check.ok", checked=checked)
        columns = ("check", "subject", "expected", "actual", "detail")
        rows = [tuple(said(f"check.column.{c}") for c in columns)]
        rows += [(p.check, p.subject, p.expected, p.actual, p.detail) for p in self.problems]
        widths = [min(max(len(r[i]) for r in rows), 48) for i in range(4)]
        lines = [said("check.differences", count=len(self.problems), checked=checked)]
        for n, row in enumerate(rows):
            cells = [row[i][: widths[i]].ljust(widths[i]) for i in range(4)]
            lines.append("  ".join([*cells, row[4]]).rstrip())
            if n == 0:
                lines.append("  ".join("-" * w for w in widths) + "  ------")
        return "\n".join(lines)


class Unreachable(Exception):
    """A service did not answer (transport error or 5xx)."""


def normalize_urls(urls: dict[str, str]) -> dict[str, str]:
    """Short names (event, reservation, ...) from short names or package names."""
    by_package = {package: name for name, package in PACKAGES.items()}
    found = {by_package.get(key, key): url.rstrip("/") for key, url in urls.items()}
    missing = [name for name in URL_ENV if name not in found]
    if missing:
        raise ValueError(f"no base URL for: {', '.join(missing)}")
    return found


def urls_from_env(host: str = "127.0.0.1") -> dict[str, str]:
    """EVENT_URL, RESERVATION_URL, ... or the native ports on `host`."""
    return {name: os.environ.get(env, f"http://{host}:{port}") for name, (env, port) in URL_ENV.items()}


def page_params(params: dict[str, Any] | None, page: int) -> dict[str, Any]:
    """The query of one page of a paged list (`page` from 1, PAGE_SIZE items)."""
    return {**(params or {}), "page": page, "size": PAGE_SIZE}


def add_page(items: list[Any], body: Any) -> bool:
    """Adds the items of a paged list's answer to `items`; whether that was the last page (a
    short page, every item of `total` read, or no list at all: a 404)."""
    if body is None:
        return True
    batch = body.get("items") or []
    items.extend(batch)
    return len(batch) < PAGE_SIZE or len(items) >= int(body.get("total", 0))


# The reservation service's seat hold of a direct reservation the event service refused.
REFUSED_HOLD = "refused"


class _Api:
    """GETs with a few retries on transport errors; 404 -> None."""

    def __init__(self, http: httpx.AsyncClient, urls: dict[str, str], concurrency: int) -> None:
        self.http = http
        self.urls = urls
        self.limit = asyncio.Semaphore(concurrency)

    async def get(self, service: str, path: str, params: dict[str, Any] | None = None) -> Any:
        url = self.urls[service] + path
        last = ""
        for attempt in range(3):
            try:
                async with self.limit:
                    answer = await self.http.get(url, params=params)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if answer.status_code == 404:
                    return None
                if answer.status_code < 500:
                    answer.raise_for_status()
                    return answer.json()
                last = f"HTTP {answer.status_code}"
            await asyncio.sleep(0.2 * (attempt + 1))
        raise Unreachable(f"{service}: GET {path} failed ({last})")

    async def pages(self, service: str, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        items: list[Any] = []
        page = 1
        while not add_page(items, await self.get(service, path, page_params(params, page))):
            page += 1
        return items

    async def history(self, aggregate_id: str) -> list[dict[str, Any]] | None:
        """Every event of a stream, oldest first; None when the stream does not exist."""
        events: list[dict[str, Any]] = []
        after = 0
        path = f"/api/aggregates/{quote(aggregate_id, safe='')}/history"
        while True:
            body = await self.get("event_store", path, {"fromVersion": after, "limit": 1000})
            if body is None:
                return None if not events else events
            batch = body.get("events") or []
            events.extend(batch)
            if not batch or events[-1]["version"] >= int(body.get("currentVersion", 0)):
                return events
            after = events[-1]["version"]


def occupancy(booked: int, capacity: int) -> float:
    """POLY4 as the analytics service computes it: two decimals, half up, within 0..100."""
    if capacity <= 0 or booked <= 0:
        return 0.0
    rate = (Decimal(booked) * 100 / Decimal(capacity)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return float(min(rate, Decimal(100)))


def _gaps(versions: list[int]) -> str:
    expected = list(range(1, len(versions) + 1))
    if versions == expected:
        return ""
    missing = sorted(set(range(1, max(versions, default=0) + 1)) - set(versions))
    dupes = sorted({v for v in versions if versions.count(v) > 1})
    parts = []
    if missing:
        parts.append(said("check.missing", versions=_short_list(missing)))
    if dupes:
        parts.append(said("check.duplicated", versions=_short_list(dupes)))
    return "; ".join(parts) or said("check.out_of_order", versions=_short_list(versions))


def _short_list(values: Iterable[Any], limit: int = 6) -> str:
    values = list(values)
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" (+{len(values) - limit})" if len(values) > limit else "")


@dataclass
class _Snapshot:
    """What the global reads found; events are re-read one by one while settling."""

    in_flight: dict[int, list[dict[str, Any]]]  # eventId -> sagas not yet terminal
    payments: dict[str, list[dict[str, Any]]]  # reservationId -> payments


class _Checker:
    def __init__(
        self,
        api: _Api,
        *,
        queue_prefix: str,
        rabbitmq_api: str,
        rabbitmq_auth: tuple[str, str],
        stuck_seconds: float,
        check_event_store: bool,
    ) -> None:
        self.api = api
        self.queue_prefix = queue_prefix
        self.rabbitmq_api = rabbitmq_api.rstrip("/")
        self.rabbitmq_auth = rabbitmq_auth
        self.stuck_seconds = stuck_seconds
        self.check_event_store = check_event_store
        self.counts: dict[str, int] = {}

    # -- global reads ---------------------------------------------------------------------

    async def snapshot(self, *, with_payments: bool) -> _Snapshot:
        in_flight: dict[int, list[dict[str, Any]]] = {}
        for status in IN_FLIGHT_SAGAS:
            for saga in await self.api.pages("saga", "/api/saga", {"status": status}):
                in_flight.setdefault(int(saga["eventId"]), []).append(saga)
        payments: dict[str, list[dict[str, Any]]] = {}
        if with_payments:
            all_payments = await self.api.pages("payment", "/api/payments")
            self.counts["payments"] = len(all_payments)
            for payment in all_payments:
                payments.setdefault(str(payment["reservationId"]), []).append(payment)
        return _Snapshot(in_flight, payments)

    async def sagas(self) -> list[Problem]:
        problems = []
        for status in IN_FLIGHT_SAGAS:
            params = {"status": status, "olderThan": self.stuck_seconds}
            for saga in await self.api.pages("saga", "/api/saga", params):
                problems.append(
                    Problem(
                        "sagas",
                        f"saga {saga['sagaId']}",
                        said("check.terminal"),
                        said("check.stuck", status=status, seconds=f"{self.stuck_seconds:g}"),
                        said(
                            "check.stuck_detail",
                            event=saga["eventId"],
                            step=saga.get("currentStep"),
                            error=saga.get("error"),
                        ),
                    )
                )
        for saga in await self.api.pages("saga", "/api/saga", {"status": "COMPENSATION_FAILED"}):
            problems.append(
                Problem(
                    "sagas",
                    f"saga {saga['sagaId']}",
                    said("check.ended"),
                    "COMPENSATION_FAILED",
                    said("check.failed_detail", event=saga["eventId"], error=saga.get("error")),
                )
            )
        return problems

    async def dead_letters(self) -> list[Problem]:
        try:
            answer = await self.api.http.get(
                f"{self.rabbitmq_api}/queues",
                params={"columns": "name,messages,messages_ready,vhost"},
                auth=self.rabbitmq_auth,
            )
            answer.raise_for_status()
        except httpx.HTTPError as exc:
            return [Problem("reachability", "rabbitmq management API", said("check.answers"), f"{exc}")]
        problems = []
        queues = 0
        for queue in answer.json():
            name = str(queue.get("name", ""))
            if not name.startswith(self.queue_prefix) or not DLQ_NAME.match(name[len(self.queue_prefix) :]):
                continue
            queues += 1
            held = max(int(queue.get("messages") or 0), int(queue.get("messages_ready") or 0))
            # The API's counts are sampled every few seconds: look at the queue itself.
            present = await self._peek(str(queue.get("vhost") or "/"), name)
            if present is not None:
                held = max(held, 1) if present else 0
            if held > 0:
                problems.append(
                    Problem(
                        "dead_letters",
                        f"queue {name}",
                        said("check.dlq_expected"),
                        said("check.dlq_actual", held=held),
                        said("check.dlq_detail"),
                    )
                )
        self.counts["dead-letter queues"] = queues
        return problems

    async def _peek(self, vhost: str, queue: str) -> bool | None:
        """Whether the queue holds a message (requeued at once); None when it cannot tell."""
        try:
            answer = await self.api.http.post(
                f"{self.rabbitmq_api}/queues/{quote(vhost, safe='')}/{quote(queue, safe='')}/get",
                json={"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto", "truncate": 100},
                auth=self.rabbitmq_auth,
            )
            answer.raise_for_status()
        except httpx.HTTPError:
            return None
        return bool(answer.json())

    # -- per event --------------------------------------------------------------------------

    async def event(
        self, event_id: int, snap: _Snapshot, *, fresh_payments: bool
    ) -> tuple[list[Problem], int]:
        """Every check about one event and its reservations; (problems, reservations seen)."""
        event = await self.api.get("event", f"/api/events/{event_id}")
        if event is None:  # deleted while we looked
            return [], 0
        reservations = await self.api.pages("reservation", "/api/reservations", {"eventId": event_id})
        problems: list[Problem] = []
        problems += self._seats(event, reservations, snap.in_flight.get(event_id, []))
        problems += await self._payments(reservations, snap, fresh=fresh_payments)
        problems += await self._analytics(event)
        if self.check_event_store:
            problems += await self._event_stream(event)
            for part in await asyncio.gather(*(self._reservation_stream(r) for r in reservations)):
                problems += part
        return problems, len(reservations)

    @staticmethod
    def _seats(
        event: dict[str, Any], reservations: list[dict[str, Any]], in_flight: list[dict[str, Any]]
    ) -> list[Problem]:
        booked = int(event["bookedSeats"])
        live = sum(
            int(r["bookingDetails"]["seats"]) for r in reservations if r["status"] in LIVE_RESERVATIONS
        )
        # A saga books seats before its reservation exists and releases them after cancelling
        # it: while it runs, bookedSeats may exceed the live reservations by its seats.
        allowance = sum(int(s["seats"]) for s in in_flight)
        if live <= booked <= live + allowance:
            return []
        detail = said("check.capacity", capacity=event["totalCapacity"])
        if allowance:
            detail += said("check.in_flight", sagas=len(in_flight), seats=allowance)
        return [
            Problem(
                "seats",
                f"event {event['id']}",
                said("check.seats_live", live=live) + (f" .. {live + allowance}" if allowance else ""),
                f"bookedSeats = {booked}",
                detail + said("check.leaked" if booked > live + allowance else "check.oversold"),
            )
        ]

    async def _payments(
        self, reservations: list[dict[str, Any]], snap: _Snapshot, *, fresh: bool
    ) -> list[Problem]:
        problems = []
        for reservation in reservations:
            rid = str(reservation["id"])
            if fresh:
                payments = await self.api.pages("payment", "/api/payments", {"reservationId": rid})
            else:
                payments = snap.payments.get(rid, [])
            completed = [p for p in payments if p["status"] == "completed"]
            status = reservation["status"]
            if status == "confirmed" and reservation.get("sagaId") and not completed:
                problems.append(
                    Problem(
                        "payments",
                        f"reservation {rid}",
                        said("check.want_payment"),
                        _short_list(f"{p['id']}:{p['status']}" for p in payments) or said("check.no_payment"),
                        said("check.confirmed_by", saga=reservation["sagaId"]),
                    )
                )
            if completed and status != "confirmed":
                problems.append(
                    Problem(
                        "payments",
                        f"reservation {rid}",
                        said("check.want_confirmed"),
                        status,
                        said(
                            "check.refund_it",
                            id=completed[0]["id"],
                            amount=completed[0]["amount"],
                            currency=completed[0]["currency"],
                        ),
                    )
                )
            stuck = [p for p in payments if p["status"] in ("refunding", "refund_failed")]
            if stuck:
                problems.append(
                    Problem(
                        "payments",
                        f"reservation {rid}",
                        "refunded",
                        _short_list(f"{p['id']}:{p['status']}" for p in stuck),
                        said("check.refund_stuck", status=status),
                    )
                )
            if len(completed) > 1:
                problems.append(
                    Problem(
                        "payments",
                        f"reservation {rid}",
                        said("check.want_one"),
                        said("check.completed", count=len(completed)),
                        said("check.charged_twice", ids=_short_list(p["id"] for p in completed)),
                    )
                )
        return problems

    async def _analytics(self, event: dict[str, Any]) -> list[Problem]:
        doc = await self.api.get("analytics", f"/api/analytics/events/{event['id']}")
        subject = f"event {event['id']}"
        if doc is None:
            return [
                Problem(
                    "analytics", subject, said("check.want_document"), "none", said("check.no_projection")
                )
            ]
        booked, capacity = int(event["bookedSeats"]), int(event["totalCapacity"])
        wanted = {
            "bookedSeats": booked,
            "totalCapacity": capacity,
            "occupancyRate": occupancy(booked, capacity),
            "eventVersion": int(event["version"]),
        }
        problems = []
        for name, value in wanted.items():
            seen = doc.get(name)
            same = seen is not None and (
                math.isclose(float(seen), float(value), abs_tol=0.005)
                if name == "occupancyRate"
                else seen == value
            )
            if not same:
                problems.append(Problem("analytics", subject, f"{name} = {value}", f"{name} = {seen}"))
        return problems

    async def _event_stream(self, event: dict[str, Any]) -> list[Problem]:
        stream = f"EVENT-{event['id']}"
        events = await self.api.history(stream)
        if events is None:
            return [
                Problem(
                    "event_store", stream, said("check.want_stream"), "none", said("check.no_event_message")
                )
            ]
        problems = self._gapless(stream, events)
        last = (events[-1].get("eventData") or {}).get("version") if events else None
        if last != event["version"]:
            problems.append(
                Problem(
                    "event_store",
                    stream,
                    said("check.last_version", version=event["version"]),
                    f"{last}",
                    said("check.last_recorded", type=events[-1].get("eventType") if events else "-"),
                )
            )
        return problems

    async def _reservation_stream(self, reservation: dict[str, Any]) -> list[Problem]:
        stream = f"RESERVATION-{reservation['id']}"
        events = await self.api.history(stream)
        if events is None and reservation.get("seatHold") == REFUSED_HOLD:
            # A direct reservation announces itself once its seats are held; refused at once
            # (not enough seats), it ended cancelled without a message, as the stats ignore it.
            return []
        if events is None:
            return [
                Problem(
                    "event_store",
                    stream,
                    said("check.want_stream"),
                    "none",
                    said("check.no_reservation_message"),
                )
            ]
        problems = self._gapless(stream, events)
        last = events[-1].get("eventData") or {} if events else {}
        if last.get("status") != reservation["status"]:
            problems.append(
                Problem(
                    "event_store",
                    stream,
                    said("check.last_status", status=reservation["status"]),
                    f"{last.get('status')}",
                )
            )
        return problems

    @staticmethod
    def _gapless(stream: str, events: list[dict[str, Any]]) -> list[Problem]:
        gaps = _gaps([int(e["version"]) for e in events])
        if not gaps:
            return []
        return [Problem("event_store", stream, f"versions 1..{len(events)}", gaps)]


async def check_fleet(
    urls: dict[str, str],
    queue_prefix: str = "",
    *,
    stuck_seconds: float = 60.0,
    settle_seconds: float = 10.0,
    rabbitmq_api: str = RABBITMQ_API,
    rabbitmq_auth: tuple[str, str] = ("guest", "guest"),
    check_event_store: bool = True,
    concurrency: int = 16,
    timeout: float = 10.0,
    progress: Progress | None = None,
) -> Report:
    """The whole check (async); see `run_check`."""
    say = progress or (lambda _line: None)
    async with httpx.AsyncClient(timeout=timeout) as http:
        api = _Api(http, normalize_urls(urls), concurrency)
        checker = _Checker(
            api,
            queue_prefix=queue_prefix,
            rabbitmq_api=rabbitmq_api,
            rabbitmq_auth=rabbitmq_auth,
            stuck_seconds=stuck_seconds,
            check_event_store=check_event_store,
        )
        report = Report()
        deadline = time.monotonic() + settle_seconds
        try:
            event_ids = [int(e["id"]) for e in await api.pages("event", "/api/events")]
        except Unreachable as exc:
            report.problems.append(Problem("reachability", "event service", said("check.answers"), str(exc)))
            return report
        report.counts["events"] = len(event_ids)
        pending = event_ids
        first = True
        while True:
            report.rounds += 1
            problems: list[Problem] = []
            try:
                snap = await checker.snapshot(with_payments=first)
                # After the first round, payments are re-read per reservation: fresher, and
                # only for the few events still differing.
                one = functools.partial(checker.event, snap=snap, fresh_payments=not first)
                results = await _each(pending, one, say if first else None)
            except Unreachable as exc:
                report.problems = [Problem("reachability", "fleet", said("check.all_answer"), str(exc))]
                break
            again = []
            for event_id, (found, reservations) in zip(pending, results, strict=True):
                if first:
                    report.counts["reservations"] = report.counts.get("reservations", 0) + reservations
                if found:
                    again.append(event_id)
                    problems += found
            first = False
            if not again or time.monotonic() >= deadline:
                report.problems = problems
                break
            say(said("check.settling", count=len(problems), events=len(again)))
            await asyncio.sleep(min(1.0, max(deadline - time.monotonic(), 0)))
            pending = again
        try:
            report.problems += await checker.sagas()
        except Unreachable as exc:
            report.problems.append(
                Problem("reachability", "saga orchestrator", said("check.answers"), str(exc))
            )
        report.problems += await checker.dead_letters()
        report.counts.update({k: v for k, v in checker.counts.items() if k not in report.counts})
        return report


async def _each(
    event_ids: list[int],
    check: Callable[[int], Awaitable[tuple[list[Problem], int]]],
    say: Progress | None,
) -> list[tuple[list[Problem], int]]:
    done = 0
    step = max(1, len(event_ids) // 10)

    async def one(event_id: int) -> tuple[list[Problem], int]:
        nonlocal done
        result = await check(event_id)
        done += 1
        if say is not None and (done == len(event_ids) or (len(event_ids) >= 20 and done % step == 0)):
            say(said("check.progress", done=done, total=len(event_ids)))
        return result

    return list(await asyncio.gather(*(one(e) for e in event_ids)))


def run_check(urls: dict[str, str], queue_prefix: str = "", **options: Any) -> Report:
    """Check a fleet (base URLs by short name or package name); `.ok` and `.problems`.

    Safe to call from synchronous code and from inside a running event loop (it then runs
    in a worker thread)."""
    coroutine = check_fleet(urls, queue_prefix, **options)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def add_command(sub: Any) -> None:
    """`fleet check` on the fleet's argparse subparsers."""
    cmd = sub.add_parser(
        "check",
        help="verify that the services agree (seats, payments, read models, sagas, dead letters)",
        description="Reads every service's HTTP API (base URLs from EVENT_URL, RESERVATION_URL, ... "
        "or the native ports) and the RabbitMQ management API; exit 0 when all agree.",
    )
    cmd.add_argument("--stuck-seconds", type=float, default=60.0, help="a saga non-terminal longer is stuck")
    cmd.add_argument(
        "--settle-seconds", type=float, default=10.0, help="re-check differences this long before reporting"
    )
    cmd.add_argument("--queue-prefix", default=os.environ.get("AMQP_QUEUE_PREFIX", ""))
    cmd.add_argument("--rabbitmq-api", default=os.environ.get("RABBITMQ_API", RABBITMQ_API))
    cmd.add_argument("--host", default="127.0.0.1", help="host of the native ports when no *_URL is set")
    cmd.add_argument("--no-event-store", action="store_true", help="skip the stream checks (faster)")
    cmd.add_argument("--quiet", action="store_true", help="no progress lines")


def run_command(args: argparse.Namespace) -> int:
    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    report = run_check(
        urls_from_env(args.host),
        args.queue_prefix,
        stuck_seconds=args.stuck_seconds,
        settle_seconds=args.settle_seconds,
        rabbitmq_api=args.rabbitmq_api,
        check_event_store=not args.no_event_store,
        progress=None if args.quiet else say,
    )
    print(report.table())
    return 0 if report.ok else 1
