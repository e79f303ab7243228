"""Drives sagas to a terminal state: the process that accepted a saga drives it at once; a
recovery loop takes over every unfinished saga whose lease ran out (a crashed or stopped
orchestrator), so two orchestrators at once stay correct.

The saga and its step log are loaded from PostgreSQL when a drive starts (a new saga, or one
taken over); while this process holds the lease, it keeps them in memory and applies each of
its own committed writes to that copy (`_touch` RETURNING gives the saga row), so the domain's
`decide()` sees what a reload would show. Any error ends the drive; the next one reloads: the
log, not memory, is the truth, so a saga resumes exactly where it stopped. Between two steps
one transaction finishes the first and begins the next, still before the next call.

A participant that refuses our SERVICE_TOKEN (401/403) did nothing and answered nothing about
the saga: the step or compensation is neither failed nor counted. It stays started, its error
says why, and the saga is handed back (no owner, no lease) for an orchestrator whose token is
accepted; this one takes no saga until its peers accept its token again (shared/peers.py).
"""

import asyncio
import contextlib
import logging
import time
import uuid
import weakref
from dataclasses import replace
from typing import Any

from saga_orchestrator.clients import Outcome, Participants
from saga_orchestrator.domain import (
    Action,
    ActionKind,
    CancelStep,
    Kind,
    Saga,
    SagaStatus,
    SagaType,
    Step,
    StepRecord,
    StepStatus,
    cancellation_failure,
    decide,
    failed_step,
    record_of,
    transition,
)
from saga_orchestrator.messaging import booking_message, cancellation_message
from saga_orchestrator.settings import SagaSettings
from saga_orchestrator.store import LeaseLost, SagaStore
from shared import faults, tracing
from shared.contracts import (
    BookingCancellationFailed,
    BookingCancelled,
    BookingCompensated,
    BookingConfirmed,
    Envelope,
)
from shared.crashpoints import crash_point
from shared.faults import Fault
from shared.forever import every
from shared.http import TokenRefused
from shared.logging import correlation_id
from shared.messaging.outbox import Relay
from shared.metrics import Metrics
from shared.peers import Peers

log = logging.getLogger(__name__)


class Orchestrator:
    def __init__(
        self,
        store: SagaStore,
        participants: Participants,
        settings: SagaSettings,
        relay: Relay,
        metrics: Metrics,
        peers: Peers | None = None,
    ) -> None:
        self.store = store
        self.peers = peers or Peers(participants.clients, settings)
        self.participants = participants
        self.settings = settings
        self.relay = relay
        self._semaphore = asyncio.Semaphore(settings.max_concurrent_sagas)
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._loop: asyncio.Task[None] | None = None
        # What `GET /api/saga/{id}?wait=` waits on; an entry lives while someone waits on it.
        self._settled: weakref.WeakValueDictionary[uuid.UUID, asyncio.Event] = weakref.WeakValueDictionary()
        self._finished = metrics.counter(
            "saga_finished_total", "Sagas that reached a terminal status", ("status",)
        )
        self._in_flight = metrics.gauge("saga_in_flight", "Sagas this process is driving now")

    def start(self) -> None:
        self._loop = asyncio.create_task(self._recover_forever(), name="saga-recovery")

    async def stop(self) -> None:
        """Stop driving and hand every unfinished saga back at once (no lease wait)."""
        tasks = [t for t in (self._loop, *self._tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self.store.release_all()

    def watch(self, saga_id: uuid.UUID) -> asyncio.Event:
        """An event set when this process takes the saga to a terminal status (shared by all
        who watch it; forgotten when nobody holds it). Take it BEFORE reading the saga, so an
        end between the read and the wait is not missed. A saga another orchestrator drives
        is not signalled here: watchers re-read the log now and then."""
        event = self._settled.get(saga_id)
        if event is None:
            event = self._settled[saga_id] = asyncio.Event()
        return event

    def drive_soon(self, saga_id: uuid.UUID, created: Saga | None = None) -> None:
        """Drive the saga in the background; `created`: its row as just inserted (no steps
        yet), which spares reloading it."""
        if saga_id in self._tasks:
            return
        task = asyncio.create_task(self._drive_in_its_trace(saga_id, created), name=f"saga-{saga_id}")
        self._tasks[saga_id] = task
        self._in_flight.set(len(self._tasks))

        def forget(_: asyncio.Task[None]) -> None:
            self._tasks.pop(saga_id, None)
            self._in_flight.set(len(self._tasks))

        task.add_done_callback(forget)

    async def _drive_in_its_trace(self, saga_id: uuid.UUID, created: Saga | None) -> None:
        """`_drive`, in the trace of the request that started the saga (docs/tracing.md),
        whichever process drives it: a saga taken over is read once more for the context its
        row keeps (rare: a crash, a lease run out)."""
        kept = created.trace_context if created is not None else None
        if created is None:
            with contextlib.suppress(Exception):  # unreadable now: driven untraced, retried later
                found = await self.store.find(saga_id)
                kept = found[0].trace_context if found is not None else None
        with tracing.span("saga drive", kept, **{"saga.id": str(saga_id)}):
            await self._drive(saga_id, created)

    async def _recover_forever(self) -> None:
        renew_every = max(self.settings.recovery_interval_seconds, self.settings.lease_seconds / 3)
        last_renewal = time.monotonic()

        async def recovery_pass() -> None:
            nonlocal last_renewal
            if (reason := self.peers.refused()) is not None:
                # No work without the means to do it: no saga claimed, no lease renewed, so an
                # orchestrator whose token is accepted takes this one's sagas over.
                log.debug("taking no saga: %s", reason)
                return
            room = self.settings.max_concurrent_sagas - len(self._tasks)
            # Teaching fault forgetful-orchestrator: sagas whose orchestrator died are never
            # taken over, as if their state had lived in its memory only (the handout's design).
            if room > 0 and not faults.on(Fault.FORGETFUL_ORCHESTRATOR):
                for saga_id in await self.store.claim_expired(room):
                    log.info("resuming saga %s", saga_id)
                    self.drive_soon(saga_id)
            if time.monotonic() - last_renewal >= renew_every:
                await self.store.renew(list(self._tasks))
                last_renewal = time.monotonic()

        await every(self.settings.recovery_interval_seconds, recovery_pass, what="saga recovery pass")

    async def _drive(self, saga_id: uuid.UUID, created: Saga | None = None) -> None:
        # exercise SAGA1, level 2: begin
        if correlation_id.get() is None:
            correlation_id.set(f"saga-{saga_id}")
        async with self._semaphore:
            try:
                saga, steps = (created, []) if created is not None else await self.store.load(saga_id)
                if saga.owner != self.store.owner:
                    return
                state: _State | None = _State(saga, steps)
                while state is not None:
                    state = await self._turn(state)
            except LeaseLost:
                log.warning("saga %s is driven by another orchestrator now", saga_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Left leased: once the lease runs out a recovery pass reloads and tries again.
                log.exception("saga %s: driving failed", saga_id)
        # exercise SAGA1, level 2: end

    def _decide(self, state: "_State") -> Action:
        action = decide(
            state.saga.status,
            state.steps,
            max_compensation_attempts=self.settings.compensation_attempts,
            saga_type=state.saga.type,
        )
        if (
            action.kind is ActionKind.RUN_COMPENSATION
            and state.saga.type is SagaType.BOOKING
            and faults.on(Fault.NO_COMPENSATION)
        ):
            # Teaching fault no-compensation: a failed booking ends without undoing its steps
            # (SAGA4 removed): the seats stay booked and the reservation pending.
            return Action(ActionKind.COMPENSATED)
        return action

    async def _turn(self, state: "_State") -> "_State | None":
        # exercise SAGA1, level 2: begin
        """One action of the saga; None once it is terminal."""
        status = state.saga.status
        action = self._decide(state)
        if action.kind is ActionKind.DONE:
            return None
        if action.kind is ActionKind.RUN_STEP:
            return await self._run_step(state, status, str(action.name))
        if action.kind is ActionKind.RUN_COMPENSATION:
            return await self._run_compensation(state, str(action.name))
        if action.kind is ActionKind.BEGIN_COMPENSATION:
            failed = failed_step(state.steps)
            log.info("saga %s compensating after %s", state.saga.id, failed.name if failed else "?")
            key = state.saga.idempotency_key
            crash_point("before:status:COMPENSATING", key)
            saga = await self.store.change_status(state.saga.id, transition(status, SagaStatus.COMPENSATING))
            crash_point("after:status:COMPENSATING", key)
            return _State(saga, state.steps)
        await self._finish(state.saga, status, state.steps, action)
        return None
        # exercise SAGA1, level 2: end

    async def _begin(self, state: "_State", name: str, kind: Kind, status: SagaStatus | None) -> "_State":
        # exercise SAGA1, level 2: begin
        """Commit the step row before the call, unless the previous finish already did."""
        if state.begun == (name, kind):
            return state
        crash_point(f"before:begin:{name}", state.saga.idempotency_key)
        saga = await self.store.begin(state.saga.id, name, kind, status=status)
        crash_point(f"after:begin:{name}", state.saga.idempotency_key)
        return _State(saga, _began(state.steps, name, kind))
        # exercise SAGA1, level 2: end

    async def _settle(
        self,
        state: "_State",
        name: str,
        kind: Kind,
        outcome: Outcome,
        *,
        fields: dict[str, Any] | None = None,
        message: Envelope | None = None,
    ) -> "_State":
        # exercise SAGA1, level 2: begin
        """Record the outcome and the saga `fields` it taught (by default the outcome's own;
        and `message`, queued in the outbox with it); when it succeeded and the domain's next
        action is another call, begin that one in the same transaction."""
        ok, error, response = outcome.ok, outcome.error, outcome.response
        if fields is None:
            fields = outcome.fields
        steps = _finished(state.steps, name, kind, ok=ok, error=error, response=response)
        following: tuple[str, Kind] | None = None
        # Not from STARTED: the first step's begin also moves the saga to RUNNING.
        if ok and state.saga.status != SagaStatus.STARTED:
            after = self._decide(_State(state.saga.learnt(fields), steps))
            if after.kind is ActionKind.RUN_STEP:
                following = (str(after.name), Kind.STEP)
            elif after.kind is ActionKind.RUN_COMPENSATION:
                following = (str(after.name), Kind.COMPENSATION)
        crash_point(f"before:finish:{name}", state.saga.idempotency_key)
        saga = await self.store.finish(
            state.saga.id,
            name,
            ok=ok,
            error=error,
            response=response,
            fields=fields,
            then_begin=following,
            message=message,
        )
        crash_point(f"after:finish:{name}", saga.idempotency_key)
        if following is not None:
            steps = _began(steps, *following)
        return _State(saga, steps, following)
        # exercise SAGA1, level 2: end

    async def _slow_motion(self) -> None:
        """SAGA_STEP_DELAY_MS: the step is begun (visible as started in the log), then waits
        before its call; the saga's decisions never depend on it."""
        if self.settings.step_delay_ms > 0:
            await asyncio.sleep(self.settings.step_delay_ms / 1000)

    async def _run_step(self, state: "_State", status: SagaStatus, step: str) -> "_State | None":
        # exercise SAGA1, level 2: begin
        earlier = record_of(state.steps, step, Kind.STEP)
        retried = earlier is not None and earlier.status == StepStatus.FAILED
        if retried and earlier is not None:
            # A cancellation step that got no answer runs again under its key, after a pause.
            await asyncio.sleep(self.settings.compensation_retry_seconds * earlier.attempts)
        wanted = transition(status, SagaStatus.RUNNING) if status == SagaStatus.STARTED else None
        state = await self._begin(state, step, Kind.STEP, wanted)
        saga = state.saga
        await self._slow_motion()
        crash_point(f"before:call:{step}", saga.idempotency_key)
        try:
            outcome = await self.participants.run_step(step, saga)
        except TokenRefused as exc:
            await self._wait_for_token(saga, step, exc)
            return None
        crash_point(f"after:call:{step}", saga.idempotency_key)
        fields = dict(outcome.fields)
        if not outcome.ok:
            fields["error"] = outcome.error
        elif retried:
            fields["error"] = None
        message = None
        if outcome.ok and saga.type is SagaType.CANCELLATION and step == CancelStep.NOTIFY:
            message = cancellation_message(
                BookingCancelled, saga, SagaStatus.COMPLETED, saga.request.get("reason")
            )
        state = await self._settle(state, step, Kind.STEP, outcome, fields=fields, message=message)
        log.info("saga %s %s %s", saga.id, step, "succeeded" if outcome.ok else f"failed: {outcome.error}")
        return state
        # exercise SAGA1, level 2: end

    async def _run_compensation(self, state: "_State", compensation: str) -> "_State | None":
        # exercise SAGA4, level 2: begin
        seats = record_of(state.steps, Step.RESERVE_SEATS, Kind.STEP)
        uncertain_seats = seats is None or seats.status != StepStatus.SUCCEEDED
        state = await self._begin(state, compensation, Kind.COMPENSATION, None)
        saga = state.saga
        begun = record_of(state.steps, compensation, Kind.COMPENSATION)
        attempts = begun.attempts if begun else 1
        await self._slow_motion()
        crash_point(f"before:call:{compensation}", saga.idempotency_key)
        try:
            outcome = await self.participants.run_compensation(
                compensation, saga, uncertain_seats=uncertain_seats
            )
        except TokenRefused as exc:
            await self._wait_for_token(saga, compensation, exc)
            return None
        crash_point(f"after:call:{compensation}", saga.idempotency_key)
        state = await self._settle(state, compensation, Kind.COMPENSATION, outcome)
        if not outcome.ok:
            log.warning("saga %s %s failed (pass %d): %s", saga.id, compensation, attempts, outcome.error)
            if attempts < self.settings.compensation_attempts:
                await asyncio.sleep(self.settings.compensation_retry_seconds * attempts)
        return state
        # exercise SAGA4, level 2: end

    async def _wait_for_token(self, saga: Saga, name: str, exc: TokenRefused) -> None:
        """A participant refused our token: a configuration fault, not a refusal nor silence,
        so the saga neither compensates nor spends a pass. The call stays started (it runs
        again under its key), its error says why, and the saga is handed back: taken over at
        once by an orchestrator whose token is accepted, else by this one once its peers
        accept its token again (asked with a doubling wait, shared/peers.py)."""
        error = (
            f"{name}: {exc.status} refused our service token — configuration fault, retrying "
            "(the orchestrator's /ready says which service; fix: .venv/bin/fleet restart)"
        )
        await self.store.wait_for_token(saga.id, name, error)
        log.warning("saga %s waits for the service tokens to agree: %s", saga.id, exc)

    async def _finish(self, saga: Saga, status: SagaStatus, steps: list[StepRecord], action: Action) -> None:
        booking = saga.type is SagaType.BOOKING
        if action.kind is ActionKind.COMPLETE:
            final = transition(status, SagaStatus.COMPLETED)
            # A cancellation's booking.cancelled was queued by its NOTIFY step.
            message = booking_message(BookingConfirmed, saga, final, None) if booking else None
            crash_point(f"before:status:{final}", saga.idempotency_key)
            await self.store.change_status(saga.id, final, message=message)
        elif action.kind is ActionKind.COMPENSATED:
            final = transition(status, SagaStatus.COMPENSATED)
            if booking:
                message = booking_message(BookingCompensated, saga, final, saga.error)
            else:
                message = cancellation_message(BookingCancellationFailed, saga, final, saga.error)
            crash_point(f"before:status:{final}", saga.idempotency_key)
            await self.store.change_status(saga.id, final, message=message)
        elif not booking:
            final = transition(status, SagaStatus.COMPENSATION_FAILED)
            error = cancellation_failure(steps, str(action.name))
            message = cancellation_message(BookingCancellationFailed, saga, final, error)
            crash_point(f"before:status:{final}", saga.idempotency_key)
            await self.store.change_status(saga.id, final, error=error, message=message)
        else:
            final = transition(status, SagaStatus.COMPENSATION_FAILED)
            stuck = record_of(steps, str(action.name), Kind.COMPENSATION)
            error = f"{action.name} kept failing: {stuck.error if stuck else 'unknown'}"
            if saga.error:
                error = f"{saga.error}; {error}"
            crash_point(f"before:status:{final}", saga.idempotency_key)
            await self.store.change_status(saga.id, final, error=error)
        crash_point(f"after:status:{final}", saga.idempotency_key)
        self._finished.labels(final.value).inc()
        self.relay.wake()
        if (event := self._settled.get(saga.id)) is not None:
            event.set()
        log.info("saga %s %s", saga.id, final)


class _State:
    """What this lease holder knows of one saga: its row as last committed, its step log, and
    the step whose row the last commit already began (None when no step was begun ahead)."""

    __slots__ = ("begun", "saga", "steps")

    def __init__(self, saga: Saga, steps: list[StepRecord], begun: tuple[str, Kind] | None = None) -> None:
        self.saga = saga
        self.steps = steps
        self.begun = begun


def _began(steps: list[StepRecord], name: str, kind: Kind) -> list[StepRecord]:
    """The log after `SagaStore.begin`: started, one more attempt (error kept until finish)."""
    for i, record in enumerate(steps):
        if record.name == name and record.kind == kind:
            updated = replace(record, status=StepStatus.STARTED, attempts=record.attempts + 1)
            return [*steps[:i], updated, *steps[i + 1 :]]
    return [*steps, StepRecord(name=name, kind=kind, status=StepStatus.STARTED, attempts=1)]


def _finished(
    steps: list[StepRecord],
    name: str,
    kind: Kind,
    *,
    ok: bool,
    error: str | None,
    response: dict[str, Any] | None,
) -> list[StepRecord]:
    """The log after `SagaStore.finish` (as `store._record` would read it back)."""
    status = StepStatus.SUCCEEDED if ok else StepStatus.FAILED
    answer = response if isinstance(response, dict) else {}
    uncertain, irreversible = bool(answer.get("uncertain")), bool(answer.get("irreversible"))
    return [
        replace(r, status=status, error=error, uncertain=uncertain, irreversible=irreversible)
        if r.name == name and r.kind == kind
        else r
        for r in steps
    ]
