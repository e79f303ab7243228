"""The console's HTTP side: the page, its live stream (Server-Sent Events), the fragments a
click asks for, and the booking form's POST, forwarded to the orchestrator as a client sends it."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from console import page, render
from console.hub import Hub, Update
from console.settings import ConsoleSettings
from console.sources import ORCHESTRATOR, Sources, Unreachable
from shared.errors import Unavailable
from shared.web import create_service_app

STATIC = Path(__file__).parent / "static"
# A closed page is noticed within this many seconds; a comment line keeps proxies from
# closing a quiet stream.
DISCONNECT_CHECK_SECONDS = 2.0
KEEP_ALIVE_SECONDS = 15.0

SagaStatus = StrEnum("SagaStatus", {s: s for s in render.SAGA_STATUSES})  # type: ignore[misc]

router = APIRouter(tags=["console"])


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _sources(request: Request) -> Sources:
    sources: Sources = request.app.state.sources
    return sources


def _html(fragment: str) -> HTMLResponse:
    return HTMLResponse(fragment, headers={"Cache-Control": "no-store"})


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index(request: Request) -> HTMLResponse:
    settings: ConsoleSettings = request.app.state.settings
    return _html(page.page(settings))


def _sse(update: Update) -> str:
    topic, html = update
    lines = html.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return f"event: {topic}\n" + "".join(f"data: {line}\n" for line in lines) + "\n"


@router.get("/stream")
async def stream(
    request: Request,
    status: SagaStatus | None = Query(None, description="sagas panel: only this status"),  # type: ignore[valid-type]
    page_number: int = Query(1, alias="page", ge=1, le=100_000, description="sagas panel page"),
    seats_page: int = Query(1, alias="seatsPage", ge=1, le=100_000, description="seats panel page"),
) -> StreamingResponse:
    """Server-Sent Events: each panel's HTML whenever it changes (`event:` names the panel)."""
    hub = _hub(request)
    chosen = status.value if status is not None else None
    subscriptions = hub.subscriptions(chosen, page_number, seats_page)
    queue: asyncio.Queue[Update] = asyncio.Queue()

    async def events() -> AsyncIterator[str]:
        for feed, view in subscriptions:
            feed.subscribe(view, queue)
        try:
            yield "retry: 2000\n\n"
            quiet_since = time.monotonic()
            while True:
                try:
                    async with asyncio.timeout(DISCONNECT_CHECK_SECONDS):
                        update = await queue.get()
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    if time.monotonic() - quiet_since > KEEP_ALIVE_SECONDS:
                        quiet_since = time.monotonic()
                        yield ": keep-alive\n\n"
                    continue
                quiet_since = time.monotonic()
                yield _sse(update)
        finally:
            for feed, view in subscriptions:
                feed.unsubscribe(view, queue)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/ui/saga/{saga_id}", response_class=HTMLResponse)
async def saga_log(saga_id: str, request: Request) -> HTMLResponse:
    """One saga's full log (GET /api/saga/{id} of the orchestrator)."""
    try:
        saga = await _sources(request).saga(saga_id)
    except Unreachable as exc:
        return _html(render.unreachable(exc.source, exc.reason))
    except Exception:
        return _html(f'<p class="muted">no saga {render.esc(saga_id)}</p>')
    return _html(render.saga_log(saga, _now(), _sources(request).settings.zipkin_ui_url))


@router.get("/ui/event-options", response_class=HTMLResponse)
async def event_options(request: Request) -> HTMLResponse:
    """The booking form's events (the first hundred)."""
    try:
        listing = await _sources(request).events(1, 100)
    except Unreachable:
        return _html("")
    return _html(render.event_options(listing))


@router.get("/ui/aggregate", response_class=HTMLResponse)
async def aggregate(
    request: Request, aggregate_id: str = Query(alias="id", min_length=1, max_length=200)
) -> HTMLResponse:
    """An aggregate's history as a timeline, with the version slider."""
    try:
        history = await _sources(request).history(aggregate_id)
    except Unreachable as exc:
        return _html(render.unreachable(exc.source, exc.reason))
    return _html(render.aggregate_view(aggregate_id, history))


@router.get("/ui/reconstruct", response_class=HTMLResponse)
async def reconstruct(
    request: Request,
    aggregate_id: str = Query(alias="id", min_length=1, max_length=200),
    version: int = Query(ge=1, le=2**62),
) -> HTMLResponse:
    """The aggregate's state at a version (the event store's reconstruct?toVersion=)."""
    try:
        replay = await _sources(request).reconstruct(aggregate_id, version)
    except Unreachable as exc:
        return _html(render.unreachable(exc.source, exc.reason))
    return _html(render.state_view(replay))


@router.post("/api/saga/booking", status_code=202)
async def book(request: Request) -> Response:
    """The booking form's POST, sent to the orchestrator unchanged; its answer comes back as is."""
    body = await request.body()
    try:
        answer = await _sources(request).start_booking(
            body, request.headers.get("content-type", "application/json")
        )
    except Unreachable:
        raise Unavailable(f"The {ORCHESTRATOR} cannot be reached; nothing was booked.") from None
    return Response(
        answer.content,
        status_code=answer.status_code,
        media_type=answer.headers.get("content-type", "application/json"),
    )


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sources = Sources(settings)
        app.state.sources = sources
        app.state.hub = Hub(sources, settings.poll_seconds)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                await app.state.hub.stop()
            await sources.aclose()

    app = create_service_app(
        settings,
        title="Fleet console",
        description="A read-only live view of the fleet: sagas, seats, messages and the event store.",
        lifespan=lifespan,
        routers=[router],
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
