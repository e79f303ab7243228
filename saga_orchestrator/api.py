"""HTTP routes of the saga orchestrator: start a booking or a cancellation saga (202),
inspect one, list them; an operator resumes a COMPENSATION_FAILED one."""

import asyncio
import contextlib
import time
import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from saga_orchestrator.domain import TERMINAL, Saga, SagaStatus
from saga_orchestrator.schemas import BookingIn, CancellationIn, SagaOut, SagaStarted, SagaSummary, saga_out
from saga_orchestrator.service import SagaService
from saga_orchestrator.store import SagaStore
from shared import callers
from shared.clock import utc_now
from shared.errors import NotFound, RuleBroken, field_error
from shared.idempotency import Idempotency
from shared.idempotency.header import IdempotencyKey
from shared.paging import Paging
from shared.schemas import Page, parse_utc
from shared.web import from_state

router = APIRouter(prefix="/api/saga", tags=["saga"])

MAX_WAIT_SECONDS = 30


UseCases = Annotated[SagaService, from_state("sagas")]
Log = Annotated[SagaStore, from_state("saga_store")]


def _started(saga: Saga, response: Response) -> SagaStarted:
    response.headers["Location"] = f"/api/saga/{saga.id}"
    return SagaStarted(saga_id=saga.id, status=saga.status)


@router.post("/booking", status_code=202, response_model=SagaStarted, dependencies=[callers.PUBLIC])
async def start_booking(
    body: BookingIn,
    sagas: UseCases,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> SagaStarted:
    """Start a booking saga (SAGA1); it runs in the background: poll the Location."""
    idem = Idempotency.of(idempotency_key, body.model_dump(mode="json", by_alias=True))
    saga = await sagas.start_booking(body, idem)
    return _started(saga, response)


@router.post("/cancellation", status_code=202, response_model=SagaStarted, dependencies=[callers.PUBLIC])
async def start_cancellation(
    body: CancellationIn,
    sagas: UseCases,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> SagaStarted:
    """Start the cancellation saga of a confirmed booking (cancel the reservation, refund the
    payment, release the seats, tell the user); it runs in the background: poll the Location.
    409 while the booking's saga still runs, once the event has started, or when the
    reservation is not confirmed; 403 when `userId` is not the reservation's user."""
    idem = Idempotency.of(idempotency_key, body.model_dump(mode="json", by_alias=True))
    saga = await sagas.start_cancellation(body, idem)
    return _started(saga, response)


@router.post(
    "/{saga_id}/resume", status_code=202, response_model=SagaStarted, dependencies=[callers.OPERATOR]
)
async def resume_saga(saga_id: str, sagas: UseCases, response: Response) -> SagaStarted:
    """Operator: resume a COMPENSATION_FAILED saga once its cause is fixed (a participant back,
    the service tokens agreeing). Its failed calls get a new round of passes and run again
    under their idempotency keys: a booking saga goes back to COMPENSATING and ends
    COMPENSATED; a cancellation saga whose step got no answer goes back to RUNNING (one whose
    refund was refused cannot be resumed: docs/saga.md). 409 when the saga is not
    COMPENSATION_FAILED or cannot be resumed, 404 when unknown; it runs in the background:
    poll the Location."""
    try:
        key = uuid.UUID(saga_id)
    except ValueError:
        raise NotFound(f"Saga {saga_id} not found.") from None
    saga = await sagas.resume(key)
    return _started(saga, response)


def _cutoff(older_than: str | None, now: datetime) -> datetime | None:
    """`olderThan` as seconds ago or an ISO date-time (without zone: UTC)."""
    if older_than is None:
        return None
    try:
        seconds = float(older_than)
    except ValueError:
        pass
    else:
        if not 0 <= seconds <= 1e9:  # NaN included
            raise RuleBroken(
                "olderThan must be 0 or more seconds.", errors=[field_error("olderThan", "out of range")]
            )
        return now - timedelta(seconds=seconds)
    try:
        return parse_utc(older_than)
    except ValueError:
        raise RuleBroken(
            "olderThan must be a number of seconds or an ISO date-time within years 1 to 9999 in UTC.",
            errors=[field_error("olderThan", "not seconds nor an ISO date-time in UTC")],
        ) from None


@router.get("", response_model=Page[SagaSummary], dependencies=[callers.PUBLIC])
async def list_sagas(
    store: Log,
    paging: Paging,
    status: SagaStatus | None = Query(None, description="only sagas in this status"),
    older_than: str | None = Query(
        None, alias="olderThan", description="created before: seconds ago, or an ISO date-time"
    ),
) -> Page[SagaSummary]:
    cutoff = _cutoff(older_than, utc_now())
    rows, total = await store.page(
        status=status.value if status else None, older_than=cutoff, offset=paging.offset, limit=paging.size
    )
    return Page[SagaSummary](
        items=[SagaSummary.of(r) for r in rows], total=total, page=paging.page, size=paging.size
    )


# A waiting GET re-reads the log at least this often: another orchestrator may be driving it.
REREAD_SECONDS = 0.5


@router.get("/{saga_id}", response_model=SagaOut, dependencies=[callers.PUBLIC])
async def get_saga(
    saga_id: str,
    request: Request,
    store: Log,
    wait: float = Query(
        0,
        ge=0,
        le=MAX_WAIT_SECONDS,
        description="seconds to wait for a terminal status before answering (long poll); "
        "the answer comes as soon as the saga ends",
    ),
) -> SagaOut:
    """The saga, its current step and its step log with timestamps and errors."""
    try:
        key = uuid.UUID(saga_id)
    except ValueError:
        raise NotFound(f"Saga {saga_id} not found.") from None
    settled = request.app.state.orchestrator.watch(key) if wait else None
    found = await store.read(key)
    if found is None:
        raise NotFound(f"Saga {saga_id} not found.")
    deadline = time.monotonic() + wait
    while (
        settled is not None and found[0].status not in TERMINAL and (left := deadline - time.monotonic()) > 0
    ):
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(left, REREAD_SECONDS)):
                await settled.wait()
        found = await store.read(key) or found
    saga, steps = found
    return saga_out(saga, steps)
