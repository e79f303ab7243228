"""Drives sagas to a terminal state: the process that accepted a saga drives it at once; a
recovery loop takes over every unfinished saga whose lease ran out (a crashed or stopped
orchestrator), so two orchestrators at once stay correct.

Each turn reloads the saga and its step log from PostgreSQL and asks the domain what to do
next: the log, not memory, is the truth, so a saga resumes exactly where it stopped.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

from saga_orchestrator.domain import (
    Action,
    Compensation,
    Kind,
    SagaStatus,
    Step,
    StepRecord,
    StepStatus,
    decide,
    failed_step,
    record_of,
    transition,
)
from saga_orchestrator.messaging import BOOKING_COMPENSATED, BOOKING_CONFIRMED, booking_message
from saga_orchestrator.participants import Participants
from saga_orchestrator.settings import SagaSettings
from saga_orchestrator.store import LeaseLost, SagaStore
from shared.logging import correlation_id
from shared.messaging.outbox import Relay
from shared.metrics import Metrics

log = logging.getLogger(__name__)


class Orchestrator:
    def __init__(
        self,
        store: SagaStore,
        participants: Participants,
        settings: SagaSettings,
        relay: Relay,
        metrics: Metrics,
    ) -> None:
        self.store = store
        self.participants = participants
        self.settings = settings
        self.relay = relay
        self._semaphore = asyncio.Semaphore(settings.max_concurrent_sagas)
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._loop: asyncio.Task[None] | None = None
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

    def drive_soon(self, saga_id: uuid.UUID) -> None:
        if saga_id in self._tasks:
            return
        task = asyncio.create_task(self._drive(saga_id), name=f"saga-{saga_id}")
        self._tasks[saga_id] = task
        self._in_flight.set(len(self._tasks))

        def forget(_: asyncio.Task[None]) -> None:
            self._tasks.pop(saga_id, None)
            self._in_flight.set(len(self._tasks))

        task.add_done_callback(forget)

    async def _recover_forever(self) -> None:
        renew_every = max(self.settings.recovery_interval_seconds, self.settings.lease_seconds / 3)
        last_renewal = time.monotonic()
        while True:
            try:
                room = self.settings.max_concurrent_sagas - len(self._tasks)
                if room > 0:
                    for saga_id in await self.store.claim_expired(room):
                        log.info("resuming saga %s", saga_id)
                        self.drive_soon(saga_id)
                if time.monotonic() - last_renewal >= renew_every:
                    await self.store.renew(list(self._tasks))
                    last_renewal = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("saga recovery pass failed")
            await asyncio.sleep(self.settings.recovery_interval_seconds)

    async def _drive(self, saga_id: uuid.UUID) -> None:
        if correlation_id.get() is None:
            correlation_id.set(f"saga-{saga_id}")
        async with self._semaphore:
            try:
                while await self._turn(saga_id):
                    pass
            except LeaseLost:
                log.warning("saga %s is driven by another orchestrator now", saga_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Left leased: once the lease runs out a recovery pass tries again.
                log.exception("saga %s: driving failed", saga_id)

    async def _turn(self, saga_id: uuid.UUID) -> bool:
        """One action of the saga; False once it is terminal (or no longer ours)."""
        saga, steps = await self.store.load(saga_id)
        if saga["owner"] != self.store.owner:
            return False
        status = SagaStatus(saga["status"])
        action = decide(status, steps, max_compensation_attempts=self.settings.compensation_attempts)
        if action.kind == "done":
            return False
        if action.kind == "run_step":
            await self._run_step(saga, status, Step(str(action.name)))
        elif action.kind == "run_compensation":
            await self._run_compensation(saga, steps, Compensation(str(action.name)))
        elif action.kind == "begin_compensation":
            failed = failed_step(steps)
            log.info("saga %s compensating after %s", saga_id, failed.name if failed else "?")
            await self.store.change_status(saga_id, transition(status, SagaStatus.COMPENSATING))
        else:
            await self._finish(saga, status, steps, action)
            return False
        return True

    async def _run_step(self, saga: dict[str, Any], status: SagaStatus, step: Step) -> None:
        wanted = transition(status, SagaStatus.RUNNING) if status == SagaStatus.STARTED else None
        await self.store.begin(saga["id"], step, Kind.STEP, status=wanted)
        outcome = await self.participants.run_step(step, saga)
        fields = dict(outcome.fields)
        if not outcome.ok:
            fields["error"] = outcome.error
        await self.store.finish(
            saga["id"], step, ok=outcome.ok, error=outcome.error, response=outcome.response, fields=fields
        )
        log.info("saga %s %s %s", saga["id"], step, "succeeded" if outcome.ok else f"failed: {outcome.error}")

    async def _run_compensation(
        self, saga: dict[str, Any], steps: list[StepRecord], compensation: Compensation
    ) -> None:
        seats = record_of(steps, Step.RESERVE_SEATS, Kind.STEP)
        uncertain_seats = seats is None or seats.status != StepStatus.SUCCEEDED
        await self.store.begin(saga["id"], compensation, Kind.COMPENSATION)
        outcome = await self.participants.run_compensation(
            compensation, {**saga, "uncertain_seats": uncertain_seats}
        )
        await self.store.finish(
            saga["id"],
            compensation,
            ok=outcome.ok,
            error=outcome.error,
            response=outcome.response,
            fields=outcome.fields,
        )
        if not outcome.ok:
            done = record_of(steps, compensation, Kind.COMPENSATION)
            attempts = (done.attempts if done else 0) + 1
            log.warning("saga %s %s failed (pass %d): %s", saga["id"], compensation, attempts, outcome.error)
            if attempts < self.settings.compensation_attempts:
                await asyncio.sleep(self.settings.compensation_retry_seconds * attempts)

    async def _finish(
        self, saga: dict[str, Any], status: SagaStatus, steps: list[StepRecord], action: Action
    ) -> None:
        if action.kind == "complete":
            final = transition(status, SagaStatus.COMPLETED)
            message = booking_message(BOOKING_CONFIRMED, saga, final, None)
            await self.store.change_status(saga["id"], final, message=message)
        elif action.kind == "compensated":
            final = transition(status, SagaStatus.COMPENSATED)
            message = booking_message(BOOKING_COMPENSATED, saga, final, saga["error"])
            await self.store.change_status(saga["id"], final, message=message)
        else:
            final = transition(status, SagaStatus.COMPENSATION_FAILED)
            stuck = record_of(steps, str(action.name), Kind.COMPENSATION)
            error = f"{action.name} kept failing: {stuck.error if stuck else 'unknown'}"
            if saga["error"]:
                error = f"{saga['error']}; {error}"
            await self.store.change_status(saga["id"], final, error=error)
        self._finished.labels(final.value).inc()
        self.relay.wake()
        log.info("saga %s %s", saga["id"], final)
