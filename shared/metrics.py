"""Prometheus metrics, one registry per app so several apps can live in one test process."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.service = service
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.messages_published = Counter(
            "messages_published_total",
            "Messages published to the broker",
            ["type"],
            registry=self.registry,
        )
        self.messages_consumed = Counter(
            "messages_consumed_total",
            "Messages taken from a queue by outcome",
            ["queue", "outcome"],
            registry=self.registry,
        )
        self.outbox_pending = Gauge(
            "outbox_pending",
            "Outbox messages not yet published (last relay pass)",
            registry=self.registry,
        )
        self._extra: dict[str, Counter | Gauge | Histogram] = {}

    def counter(self, name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
        if name not in self._extra:
            self._extra[name] = Counter(name, doc, list(labels), registry=self.registry)
        metric = self._extra[name]
        assert isinstance(metric, Counter)
        return metric

    def gauge(self, name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        if name not in self._extra:
            self._extra[name] = Gauge(name, doc, list(labels), registry=self.registry)
        metric = self._extra[name]
        assert isinstance(metric, Gauge)
        return metric
