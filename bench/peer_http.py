"""The second peer, which isolates the orchestrator: the same DBOS durable workflow as
bench/peer.py, but its steps call our participants over HTTP, as our orchestrator does: the
event lookup, `POST /api/events/{id}/book`, `POST /api/reservations`, `POST /api/payments`,
`PUT /api/reservations/{id}/status`, and on a declined charge `POST …/compensate` and
`POST /api/events/{id}/release`; each with `Idempotency-Key: <workflowId>:<STEP>`, the fleet's
service token, and the orchestrator's timeout, retries and backoff (shared.http.ServiceClient).
Only the orchestrator differs: DBOS's workflow and step log (a throwaway system database)
where ours keeps its saga log and outbox. Same concurrency and round length as our saga.

A refused booking or reservation is taken at its word (nothing was done): the peer does not
fence the key as our orchestrator does, a call it makes only after a refusal or a silence.
"""

import uuid
from decimal import Decimal
from typing import Any

import psycopg
from pydantic import SecretStr

from bench.client import LoadClient, service_token
from bench.core import PG_ADMIN, Config, LoopResult, Report, closed_loop, http_client, pct, progress
from bench.fleetapi import EXPENSIVE_PRICE, PRICE, create_event, get_event
from bench.footprint import cpu_snapshot, cpu_spent
from bench.peer import destroy_dbos
from saga_orchestrator.clients import key
from saga_orchestrator.domain import Compensation, Step, booking_amount
from saga_orchestrator.settings import SagaSettings
from shared.http import Answer, ServiceClient
from shared.money import Money

NAME = "peer-http"
DECLINED_PER_CLIENT = 2  # declined bookings per client, after the measured rounds


class StepFailed(Exception):
    """A participant answered what the step cannot go on with (a 5xx after every retry, or an
    unexpected status): the workflow stops there, counted as an error."""


def _expect(answer: Answer, what: str) -> dict[str, Any]:
    if not answer.is_success:
        raise StepFailed(f"{what}: {answer.status_code} {answer.text[:200]}")
    body: dict[str, Any] = answer.json()
    return body


def _refused(answer: Answer) -> bool:
    """A business refusal (4xx): the participant did nothing."""
    return 400 <= answer.status_code < 500


class Participants:
    """The three participants, called as our orchestrator calls them (its settings' defaults)."""

    def __init__(self, urls: dict[str, str], token: str | None) -> None:
        settings = SagaSettings()
        self.currency = settings.currency

        def client(url: str) -> ServiceClient:
            return ServiceClient(
                url,
                timeout=settings.http_timeout_seconds,
                retries=settings.http_retries,
                backoff=settings.http_backoff_seconds,
                token=SecretStr(token) if token else None,
            )

        self.events = client(urls["event_service"])
        self.reservations = client(urls["reservation_service"])
        self.payments = client(urls["payment_service"])

    async def aclose(self) -> None:
        for c in (self.events, self.reservations, self.payments):
            await c.aclose()


def _build(calls: Participants) -> Any:
    """Steps and workflow, registered with DBOS before launch. Each step is one participant
    call; the workflow returns (status, reservation id)."""
    from dbos import DBOS

    @DBOS.step(name="bench_http_event_price")
    async def event_price(event_id: int) -> str:
        # Our orchestrator looks the event up when a booking starts (its price and date).
        body = _expect(await calls.events.request("GET", f"/api/events/{event_id}"), "GET event")
        return str(body["ticketPrice"])

    @DBOS.step(name="bench_http_reserve_seats")
    async def reserve_seats(wf: str, event_id: int, seats: int) -> bool:
        answer = await calls.events.request(
            "POST",
            f"/api/events/{event_id}/book",
            json={"seats": seats},
            idempotency_key=key(wf, Step.RESERVE_SEATS),
        )
        if _refused(answer):
            return False
        _expect(answer, Step.RESERVE_SEATS)
        return True

    @DBOS.step(name="bench_http_create_reservation")
    async def create_reservation(wf: str, event_id: int, user_id: str, seats: int, price: str) -> str | None:
        answer = await calls.reservations.request(
            "POST",
            "/api/reservations",
            json={
                "eventId": event_id,
                "userId": user_id,
                "userDetails": {"name": "Bench User", "email": "bench@example.com"},
                "bookingDetails": {"seats": seats, "currency": calls.currency, "ticketPrice": price},
                "sagaId": wf,
            },
            idempotency_key=key(wf, Step.CREATE_RESERVATION),
        )
        if _refused(answer):
            return None
        return str(_expect(answer, Step.CREATE_RESERVATION)["id"])

    @DBOS.step(name="bench_http_charge")
    async def charge(wf: str, reservation_id: str, user_id: str, amount: str) -> bool:
        body = _expect(
            await calls.payments.request(
                "POST",
                "/api/payments",
                json={
                    "reservationId": reservation_id,
                    "userId": user_id,
                    "amount": amount,
                    "currency": calls.currency,
                    "paymentMethod": "card",
                },
                idempotency_key=key(wf, Step.PROCESS_PAYMENT),
            ),
            Step.PROCESS_PAYMENT,
        )
        if body.get("status") not in ("completed", "failed"):
            raise StepFailed(f"{Step.PROCESS_PAYMENT}: payment {body.get('status')}")
        return body["status"] == "completed"

    @DBOS.step(name="bench_http_confirm")
    async def confirm(wf: str, reservation_id: str) -> None:
        answer = await calls.reservations.request(
            "PUT",
            f"/api/reservations/{reservation_id}/status",
            json={"status": "confirmed", "reason": f"workflow {wf} paid"},
            idempotency_key=key(wf, Step.CONFIRM_RESERVATION),
        )
        _expect(answer, Step.CONFIRM_RESERVATION)

    @DBOS.step(name="bench_http_cancel_reservation")
    async def cancel_reservation(wf: str, reservation_id: str) -> None:
        answer = await calls.reservations.request(
            "POST",
            f"/api/reservations/{reservation_id}/compensate",
            json={"reason": f"workflow {wf} compensated"},
            idempotency_key=key(wf, Compensation.CANCEL_RESERVATION),
        )
        _expect(answer, Compensation.CANCEL_RESERVATION)

    @DBOS.step(name="bench_http_release_seats")
    async def release_seats(wf: str, event_id: int, seats: int) -> None:
        answer = await calls.events.request(
            "POST",
            f"/api/events/{event_id}/release",
            json={"seats": seats},
            idempotency_key=key(wf, Compensation.RELEASE_SEATS),
        )
        _expect(answer, Compensation.RELEASE_SEATS)

    @DBOS.workflow(name="bench_http_booking")
    async def booking(event_id: int, user_id: str, seats: int) -> tuple[str, str | None]:
        wf = str(DBOS.workflow_id)
        price = await event_price(event_id)
        amount = Money.of(booking_amount(seats, Decimal(price), calls.currency), calls.currency).text
        if not await reserve_seats(wf, event_id, seats):
            return "COMPENSATED", None
        reservation_id = await create_reservation(wf, event_id, user_id, seats, price)
        if reservation_id is None:
            await release_seats(wf, event_id, seats)
            return "COMPENSATED", None
        if not await charge(wf, reservation_id, user_id, amount):
            await cancel_reservation(wf, reservation_id)
            await release_seats(wf, event_id, seats)
            return "COMPENSATED", reservation_id
        await confirm(wf, reservation_id)
        return "COMPLETED", reservation_id

    return booking


def _admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


async def run(config: Config, report: Report) -> None:
    from dbos import DBOS

    tag = uuid.uuid4().hex[:8]
    sys_db = f"bench_dbos_http_sys_{tag}"
    base = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432"
    calls = Participants(config.urls, service_token())
    launched = False
    try:
        DBOS(
            config={
                "name": f"bench-peer-http-{tag}",
                "system_database_url": f"{base}/{sys_db}",
                "sys_db_pool_size": max(20, 2 * max(config.concurrency)),
                "log_level": "WARNING",
            }
        )
        booking = _build(calls)
        DBOS.launch()
        launched = True
        async with http_client(config.urls["event_service"]) as events:
            await _measure(config, report, events, booking)
            await _declined(config, report, events, booking)
    finally:
        await calls.aclose()
        if launched:
            destroy_dbos()
        _admin(f'DROP DATABASE IF EXISTS "{sys_db}" WITH (FORCE)')


async def _measure(config: Config, report: Report, events: LoadClient, booking: Any) -> None:
    size = config.size
    for c in config.concurrency:
        event_id = await create_event(events, capacity=1_000_000, price=PRICE, label=f"peer-http c{c}")

        async def one(client: int, i: int, event_id: int = event_id) -> tuple[str, int]:
            seats = 1 + (client + i) % 4
            status, _ = await booking(event_id, f"bench-{uuid.uuid4().hex[:12]}", seats)
            return status, seats

        progress(f"[{NAME} c={c}] warm-up {size.warmup_seconds:.1f} s")
        warmup = await closed_loop(one, c, seconds=size.warmup_seconds)
        sold = _sold(warmup)
        errors = len(warmup.errors)
        rounds = []
        cpu_rounds: list[dict[str, float]] = []
        for r in range(config.rounds):
            cpu_before = cpu_snapshot(config.run_dir)
            result = await closed_loop(one, c, seconds=size.round_seconds)
            cpu_rounds.append(cpu_spent(cpu_before, cpu_snapshot(config.run_dir)))
            sold += _sold(result)
            errors += len(result.errors)
            rounds.append(result)
            progress(
                f"[{NAME} c={c}] round {r + 1}/{config.rounds}: "
                f"{_completed(result) / result.elapsed:.1f} completed/s, "
                f"p50 {pct(result.latencies_ms(), 50):.0f} ms, {len(result.errors)} errors"
            )
        n = sum(len(r.samples) for r in rounds)
        kw: dict[str, Any] = {"samples": n, "concurrency": c, "engine": "dbos+http"}
        report.figure(NAME, "throughput", "workflows/s", [_completed(r) / r.elapsed for r in rounds], **kw)
        for p in (50, 95, 99):
            report.figure(NAME, f"latency_p{p}", "ms", [pct(r.latencies_ms(), p) for r in rounds], **kw)
        report.figure(
            NAME,
            "not_completed",
            "workflows",
            [float(sum(len(r.samples) - _completed(r) for r in rounds))],
            samples=n,
            concurrency=c,
            errors=sum(len(r.errors) for r in rounds),
            sampleErrors=[e for r in rounds for e in r.errors][:5],
        )
        _cpu_figures(report, c, rounds, cpu_rounds)
        booked = (await get_event(events, event_id))["bookedSeats"]
        # A workflow that failed half-way (errors) may hold seats no completed booking counts.
        report.check(
            NAME,
            f"seats_consistent_c{c}",
            {"bookedSeats": booked, "seatsOfCompletedBookings": sold, "errors": errors},
            booked == sold,
            concurrency=c,
        )


def _cpu_figures(report: Report, c: int, rounds: list[LoopResult], cpu: list[dict[str, float]]) -> None:
    """CPU per completed booking: the services and engines (as for our saga), and this process,
    which here is the orchestrator (DBOS) as well as the load client."""
    completed = [_completed(r) for r in rounds]
    n = sum(completed)
    if not n or not cpu:
        return
    fleet = [
        1000 * sum(v for name, v in u.items() if name != "bench_client") / k
        for u, k in zip(cpu, completed, strict=True)
        if k
    ]
    own = [1000 * u.get("bench_client", 0.0) / k for u, k in zip(cpu, completed, strict=True) if k]
    report.figure(NAME, "cpu_ms_per_workflow_fleet_and_engines", "ms", fleet, samples=n, concurrency=c)
    report.figure(NAME, "cpu_ms_per_workflow_bench_process", "ms", own, samples=n, concurrency=c)


async def _declined(config: Config, report: Report, events: LoadClient, booking: Any) -> None:
    """Bookings whose charge is declined (2 seats at 600,000 XOF > the 1,000,000 threshold)
    compensate: no seat held, the reservation cancelled, no payment completed."""
    c = max(config.concurrency)
    event_id = await create_event(events, capacity=1_000_000, price=EXPENSIVE_PRICE, label="declined")

    async def one(client: int, i: int) -> tuple[str, str | None]:
        result: tuple[str, str | None] = await booking(event_id, f"bench-{uuid.uuid4().hex[:12]}", 2)
        return result

    progress(f"[{NAME} declined] {c} clients x {DECLINED_PER_CLIENT} bookings at 1,200,000 XOF")
    result = await closed_loop(one, c, count=DECLINED_PER_CLIENT)
    outcomes = [s.value for s in result.samples]
    compensated = [rid for status, rid in outcomes if status == "COMPENSATED" and rid is not None]
    booked = (await get_event(events, event_id))["bookedSeats"]
    report.check(
        NAME,
        "declined_hold_no_seats",
        {"bookedSeats": booked, "declined": len(compensated), "errors": len(result.errors)},
        booked == 0 and len(compensated) == len(outcomes) > 0 and not result.errors,
        concurrency=c,
    )
    async with (
        http_client(config.urls["reservation_service"]) as reservations,
        http_client(config.urls["payment_service"]) as payments,
    ):
        statuses = []
        charged = 0
        for rid in compensated:
            answer = await reservations.get(f"/api/reservations/{rid}")
            answer.raise_for_status()
            statuses.append(answer.json()["status"])
            listed = await payments.get("/api/payments", params={"reservationId": rid})
            listed.raise_for_status()
            body = listed.json()
            items = body.get("items", []) if isinstance(body, dict) else body
            charged += sum(1 for p in items if p.get("status") != "failed")
    cancelled = sum(1 for s in statuses if s == "cancelled")
    report.check(
        NAME,
        "declined_reservations_cancelled",
        {"declined": len(compensated), "cancelled": cancelled},
        cancelled == len(compensated) > 0,
        concurrency=c,
    )
    report.check(NAME, "declined_charged_nothing", charged, charged == 0, concurrency=c)


def _completed(result: LoopResult) -> int:
    return sum(1 for s in result.samples if s.value[0] == "COMPLETED")


def _sold(result: LoopResult) -> int:
    return sum(s.value[1] for s in result.samples if s.value[0] == "COMPLETED")
