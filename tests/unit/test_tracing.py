"""shared/tracing.py without a fleet: which spans start a trace, the context an outbox row or a
saga keeps and the trace id read back from it, and an exporter that never raises nor floods
the log while Zipkin is away."""

import logging
import socket

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.sampling import Decision, ParentBased
from opentelemetry.trace import SpanKind

from shared import tracing


@pytest.fixture
def tracer():
    provider = TracerProvider(sampler=ParentBased(root=tracing._OutsideWork(1.0)))
    yield provider.get_tracer("test")
    provider.shutdown()


def test_only_work_from_outside_starts_a_trace():
    every = tracing._OutsideWork(1.0)
    none = tracing._OutsideWork(0.0)
    assert every.should_sample(None, 1, "post", SpanKind.SERVER).decision == Decision.RECORD_AND_SAMPLE
    assert every.should_sample(None, 1, "q process", SpanKind.CONSUMER).decision == Decision.RECORD_AND_SAMPLE
    for kind in (SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.INTERNAL):
        assert every.should_sample(None, 1, "poll", kind).decision == Decision.DROP, kind
    assert none.should_sample(None, 1, "post", SpanKind.SERVER).decision == Decision.DROP


def test_a_kept_context_gives_its_trace_id_and_resumes_its_trace(tracer):
    assert tracing.carrier() is None  # outside a trace: nothing worth keeping
    with tracer.start_as_current_span("post", kind=SpanKind.SERVER) as request:
        kept = tracing.carrier()
        trace_id = format(request.get_span_context().trace_id, "032x")
    assert kept is not None
    assert tracing.trace_id_of(kept) == trace_id
    with tracing.restored(kept), tracer.start_as_current_span("send", kind=SpanKind.PRODUCER) as later:
        assert format(later.get_span_context().trace_id, "032x") == trace_id
        assert later.get_span_context().trace_flags.sampled
    # A background loop (no kept context) starts nothing: its publish is not recorded.
    with tracing.restored(None), tracer.start_as_current_span("send", kind=SpanKind.PRODUCER) as alone:
        assert not alone.is_recording()


@pytest.mark.parametrize("kept", [None, {}, {"traceparent": "garbage"}, {"traceparent": "00-abc-def-01"}])
def test_no_trace_id_from_a_missing_or_malformed_context(kept):
    assert tracing.trace_id_of(kept) is None


def test_exporting_to_a_zipkin_that_is_down_fails_quietly(caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    exporter = tracing._QuietZipkin(f"http://127.0.0.1:{port}/api/v2/spans", timeout=1.0)
    provider = TracerProvider()
    span = provider.get_tracer("test").start_span("post")
    span.end()
    with caplog.at_level(logging.INFO, logger="shared.tracing"):
        assert exporter.export([span]) == SpanExportResult.FAILURE
        assert exporter.export([span]) == SpanExportResult.FAILURE
    said = [r.getMessage() for r in caplog.records if r.name == "shared.tracing"]
    assert len(said) == 1 and "traces dropped" in said[0], said
    exporter.shutdown()
