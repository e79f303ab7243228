"""Distributed tracing (docs/tracing.md): one trace per booking, from the client's POST through
the orchestrator's calls, each participant's database statements, the outbox row and its
relay's publish, to each consumer's batch, exported to Zipkin.

The OpenTelemetry instrumentations make the spans: FastAPI (each request), aiohttp's client
(the fleet's calls, the context in `traceparent`), SQLAlchemy, PyMongo and redis (each
statement), aio-pika (each publish, the context in the message headers, and each delivery).
What no instrumentation can know is ours: the context an outbox row keeps for its relay
(`carrier`, `restored`), a saga's drive resumed by another process, and a consumer's batch
(`consuming`).

What is recorded: a trace starts only where work arrives from outside (a request, a message
batch), sampled at `TRACING_SAMPLE_RATIO` (1.0: every booking, what a class needs at the
fleet's rates); everything below follows its parent's decision. Background loops (outbox
polls, saga recovery, lease renewals, the console's refreshes) start no trace, or Zipkin would
drown the bookings under their polls.

Exporting never slows nor breaks a service: spans are queued and sent in batches by a
background thread, with a short timeout; a full queue drops spans, Zipkin down drops batches,
and one log line says so (and one when it comes back).
"""

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult, TraceIdRatioBased
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

if TYPE_CHECKING:
    from fastapi import FastAPI

    from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

TRACER_NAME = "tp4.ticketing"
# Requests that are no work of the fleet: probes, scrapes, the console's live stream.
EXCLUDED_URLS = "/health,/ready,/metrics,/stream,/static/"
# A carrier key that is never a header of ours: the stored context of an outbox row.
TRACEPARENT = "traceparent"

_lock = threading.RLock()
_configured = False
_enabled = False
_instrumented: set[str] = set()


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def setup(settings: "ServiceSettings") -> None:
    """Once per process: the tracer provider (sampler, Zipkin exporter) and the libraries'
    instrumentations. With tracing off, nothing is installed: the API's no-op tracer makes
    every span a non-recording one."""
    global _configured, _enabled
    with _lock:
        if _configured:
            return
        _configured = True
        if not settings.tracing_enabled:
            return
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased

        provider = TracerProvider(
            resource=Resource.create({"service.name": settings.service_name}),
            sampler=ParentBased(root=_OutsideWork(settings.tracing_sample_ratio)),
        )
        provider.add_span_processor(
            BatchSpanProcessor(
                _QuietZipkin(settings.zipkin_endpoint, settings.tracing_export_timeout_seconds),
                max_queue_size=4096,
                schedule_delay_millis=1000,
                max_export_batch_size=512,
                export_timeout_millis=int(settings.tracing_export_timeout_seconds * 1000),
            )
        )
        trace.set_tracer_provider(provider)
        _enabled = True
    # The broker client is every service's; the engines' clients are instrumented by the code
    # that opens them (`instrument`): importing an instrumentation imports its library, which
    # a service that does not use it must not load (tests/unit/test_service_imports.py).
    instrument("aio_pika")


def _instrumentor(library: str) -> Any:
    if library == "aio_pika":
        from opentelemetry.instrumentation.aio_pika import AioPikaInstrumentor

        return AioPikaInstrumentor()
    if library == "aiohttp":
        from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor

        return AioHttpClientInstrumentor()
    if library == "sqlalchemy":
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        return SQLAlchemyInstrumentor()
    if library == "pymongo":
        from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

        return PymongoInstrumentor()
    if library == "redis":
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        return RedisInstrumentor()
    raise ValueError(f"no instrumentation for {library}")


def instrument(library: str) -> None:
    """Trace what this library does from now on (aio_pika, aiohttp, sqlalchemy, pymongo,
    redis), once per process; nothing while tracing is off. Call it before making the client:
    the aiohttp session, the SQLAlchemy engine (through `sqlalchemy.ext.asyncio`'s module
    attribute, which the instrumentation wraps) and the MongoDB client pick it up when made."""
    with _lock:
        if not _enabled or library in _instrumented:
            return
        _instrumented.add(library)
        # The SQLAlchemy instrumentation declares SQLAlchemy < 2.1 and would skip the 2.1 we
        # run; the engine events it listens to are the same in 2.1 (tests/e2e/test_tracing.py
        # sees the statements' spans).
        _instrumentor(library).instrument(skip_dep_check=library == "sqlalchemy")


def instrument_app(app: "FastAPI", settings: "ServiceSettings") -> None:
    """A server span per request (its context from the caller's `traceparent`)."""
    setup(settings)
    if not _enabled:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # exclude_spans: no span per ASGI message sent or received (two or three per request,
    # noise in the trace and CPU for nothing).
    FastAPIInstrumentor.instrument_app(app, excluded_urls=EXCLUDED_URLS, exclude_spans=["receive", "send"])


class _OutsideWork(Sampler):
    """Root sampler: a trace starts at work that arrived from outside (a request: SERVER; a
    message batch: CONSUMER), one in 1/ratio; a background loop's statement, publish or call
    (CLIENT, PRODUCER, INTERNAL without a parent) starts none."""

    def __init__(self, ratio: float) -> None:
        self._ratio = TraceIdRatioBased(ratio)

    def should_sample(
        self,
        parent_context: Any,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Any = None,
        links: Any = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        if kind in (SpanKind.SERVER, SpanKind.CONSUMER):
            return self._ratio.should_sample(parent_context, trace_id, name, kind, attributes, links)
        return SamplingResult(Decision.DROP)

    def get_description(self) -> str:
        return f"OutsideWork{{{self._ratio.get_description()}}}"


def _zipkin_exporter_class() -> type:
    from opentelemetry.exporter.zipkin.json import ZipkinExporter

    return ZipkinExporter


class _QuietZipkin(SpanExporter):
    """The Zipkin exporter, minus a stack trace per batch while Zipkin is away: one warning
    when exports start failing, one line when they work again."""

    def __init__(self, endpoint: str, timeout: float) -> None:
        self._exporter = _zipkin_exporter_class()(endpoint=endpoint, timeout=timeout)
        self._failing = False

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        try:
            result = self._exporter.export(spans)
        except Exception as exc:
            result = SpanExportResult.FAILURE
            reason: object = exc
        else:
            reason = "refused"
        if result == SpanExportResult.SUCCESS:
            if self._failing:
                log.info("traces reach Zipkin again (%s)", self._exporter.endpoint)
                self._failing = False
        elif not self._failing:
            log.warning(
                "traces dropped: Zipkin at %s does not take them (%s); the service goes on",
                self._exporter.endpoint,
                reason,
            )
            self._failing = True
        return result

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


# --- contexts kept across processes and time ---------------------------------------------


def carrier() -> dict[str, str] | None:
    """The current trace context as W3C headers (`traceparent`, `tracestate`), kept with an
    outbox row or a saga; None outside a sampled trace (nothing worth resuming)."""
    if not trace.get_current_span().get_span_context().trace_flags.sampled:
        return None
    found: dict[str, str] = {}
    propagate.inject(found)
    return found or None


def trace_id_of(kept: Mapping[str, Any] | None) -> str | None:
    """The trace id (32 hex digits, as Zipkin names it) of a kept context; None without one."""
    if not kept:
        return None
    parent = str(kept.get(TRACEPARENT) or "")
    parts = parent.split("-")
    if len(parts) != 4 or len(parts[1]) != 32:
        return None
    return parts[1]


@contextmanager
def restored(kept: Mapping[str, Any] | None) -> Iterator[None]:
    """Run the block in a kept context (an outbox row's, a saga's): what it does joins that
    trace. Without one, in an empty context (a background loop starts no trace)."""
    token = otel_context.attach(propagate.extract(dict(kept or {})))
    try:
        yield
    finally:
        otel_context.detach(token)


@contextmanager
def span(name: str, kept: Mapping[str, Any] | None = None, **attributes: Any) -> Iterator[trace.Span]:
    """A span of work no instrumentation sees (a saga's drive), a child of the kept context
    when one is given, else of the current one."""
    parent = propagate.extract(dict(kept)) if kept else None
    with tracer().start_as_current_span(name, context=parent, attributes=attributes) as current:
        yield current


@contextmanager
def consuming(queue: str, headers: Sequence[Mapping[str, Any] | None]) -> Iterator[list[trace.Span]]:
    """The span of a consumer's batch, current for the block; yields one span per message
    (the caller marks a failed one).

    One message (the usual case at a class's rates): the batch span is that message's child,
    so the consumer's statements are in the booking's trace. Several: the batch span is a
    trace of its own, linked to each message's, and each message's trace gets a short
    `<queue> process` span of its own, linked back to the batch."""
    contexts = [propagate.extract(dict(h or {})) for h in headers]
    name = f"{queue} process"
    if len(contexts) == 1:
        with tracer().start_as_current_span(
            name, context=contexts[0], kind=SpanKind.CONSUMER, attributes=_batch_attributes(queue, 1)
        ) as batch:
            yield [batch]
        return
    links = [
        Link(context)
        for context in (trace.get_current_span(c).get_span_context() for c in contexts)
        if context.is_valid
    ]
    with tracer().start_as_current_span(
        f"{queue} batch",
        context=otel_context.Context(),
        kind=SpanKind.CONSUMER,
        links=links,
        attributes=_batch_attributes(queue, len(contexts)),
    ) as batch:
        batch_link = [Link(batch.get_span_context())]
        each = [
            tracer().start_span(name, context=c, kind=SpanKind.CONSUMER, links=batch_link) for c in contexts
        ]
        try:
            yield each
        finally:
            for one in each:
                one.end()


def _batch_attributes(queue: str, size: int) -> dict[str, Any]:
    return {
        "messaging.system": "rabbitmq",
        "messaging.destination.name": queue,
        "messaging.batch.message_count": size,
    }


def failed(one: trace.Span, exc: BaseException) -> None:
    """Mark a message's span: its handling failed (it goes to the retry queue or the DLQ)."""
    one.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:200]))


def current_trace_id() -> str | None:
    """The current span's trace id (32 hex digits) when it is sampled; what logs carry."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid or not context.trace_flags.sampled:
        return None
    return format(context.trace_id, "032x")
