"""The OpenSearch read model: the event document index, the per-reservation index the revenue
recount sums over, their mappings, and every query the API answers.

Each name in settings is an alias over a physical index `<name>-v1`, and every write passes
`require_alias=true`: OpenSearch auto-creates unknown indices on write (with a guessed
mapping), so a write that cannot find the alias must fail instead of inventing an index.
"""

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

from opensearchpy import AsyncOpenSearch, ConflictError, NotFoundError, RequestError, TransportError
from opensearchpy.exceptions import ConnectionError as SearchUnreachable

from analytics_service.domain import COUNTED_STATUSES, TWO_PLACES, Doc, ReservationTotals

log = logging.getLogger(__name__)

MAX_LOCATIONS = 1000

_SETTINGS = {
    "number_of_shards": 1,
    # One node: a replica could never be allocated and the index would stay yellow.
    "number_of_replicas": 0,
    # Writes wait for the next refresh (refresh=wait_for) when a reader or a recount must see
    # them; a short interval keeps that wait small. (The projection forces a refresh of the
    # event documents after a batch, never of the reservations: see record_reservations.)
    "refresh_interval": "250ms",
    "analysis": {
        "analyzer": {
            # "dakar" finds "Dakar Arena" and "senegal" finds "Sénégal".
            "folding": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]}
        }
    },
}
_TEXT_WITH_KEYWORD = {
    "type": "text",
    "analyzer": "folding",
    "fields": {"keyword": {"type": "keyword", "ignore_above": 256}},
}
_MONEY = {"type": "scaled_float", "scaling_factor": 100}

EVENTS_MAPPING = {
    "dynamic": "strict",
    "properties": {
        "eventId": {"type": "long"},
        "name": _TEXT_WITH_KEYWORD,
        "description": {"type": "text", "analyzer": "folding"},
        "location": _TEXT_WITH_KEYWORD,
        "category": _TEXT_WITH_KEYWORD,
        "eventDate": {"type": "date"},
        "totalCapacity": {"type": "integer"},
        "bookedSeats": {"type": "integer"},
        "availableSeats": {"type": "integer"},
        "occupancyRate": {"type": "double"},
        "ticketPrice": _MONEY,
        "revenue": _MONEY,
        "confirmedReservations": {"type": "integer"},
        "reservationsSeq": {"type": "long"},
        "updatedAt": {"type": "date"},
        "eventVersion": {"type": "long"},
        "deleted": {"type": "boolean"},
        "placeholder": {"type": "boolean"},
    },
}
RESERVATIONS_MAPPING = {
    "dynamic": "strict",
    "properties": {
        "reservationId": {"type": "keyword"},
        "eventId": {"type": "long"},
        "status": {"type": "keyword"},
        "seats": {"type": "integer"},
        "totalAmount": _MONEY,
        "version": {"type": "long"},
        "updatedAt": {"type": "date"},
    },
}

# Documents the API hides: tombstones of deleted events, and placeholders that only hold
# reservation totals while their event.created is on its way.
_HIDDEN = [{"term": {"deleted": True}}, {"term": {"placeholder": True}}]


# Answers meaning "the engine cannot serve right now", whatever the request: a node starting
# (shards not yet allocated or started, the cluster state not recovered yet), an index blocked
# (the flood-stage disk block, a block set by an operator), a node shedding load (429).
_UNAVAILABLE_STATUSES = frozenset({429, 503})
_UNAVAILABLE_ERRORS = frozenset(
    {
        "cluster_block_exception",
        "no_shard_available_action_exception",
        "unavailable_shards_exception",
        "shard_not_available_exception",
        "es_rejected_execution_exception",
    }
)


class SearchUnavailable(Exception):
    """OpenSearch answered that it cannot serve now (starting, blocked, overloaded): the engine
    is down for the caller, not the request wrong. Registered with the broker as engine-down,
    so a message waits for the engine instead of spending its retries."""


def _unavailable(status: object, error: object) -> bool:
    return status in _UNAVAILABLE_STATUSES or error in _UNAVAILABLE_ERRORS


def _root_causes(info: object) -> list[object]:
    error = info.get("error") if isinstance(info, dict) else None
    causes = error.get("root_cause") if isinstance(error, dict) else None
    return [c.get("type") for c in causes if isinstance(c, dict)] if isinstance(causes, list) else []


def unavailable_error(exc: TransportError) -> SearchUnavailable | None:
    """The SearchUnavailable an OpenSearch error means, None when it is about the request."""
    if isinstance(exc, SearchUnreachable):  # no answer at all: registered on its own
        return None
    if _unavailable(exc.status_code, exc.error) or any(
        _unavailable(None, cause) for cause in _root_causes(exc.info)
    ):
        return SearchUnavailable(str(exc))
    return None


P = ParamSpec("P")
R = TypeVar("R")


def _translated(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Raise SearchUnavailable for an answer meaning the engine cannot serve now."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except TransportError as exc:
            unavailable = unavailable_error(exc)
            if unavailable is None:
                raise
            raise unavailable from exc

    return wrapper


def _decimal(value: float | None) -> Decimal:
    # Sums come back as floats; two places is all the money ever had.
    return Decimal(str(value or 0)).quantize(TWO_PLACES)


@dataclass(frozen=True)
class Versioned:
    """A document as read, with what its conditional write checks."""

    doc: Doc
    seq_no: int
    primary_term: int


class AnalyticsStore:
    def __init__(self, client: AsyncOpenSearch, index: str) -> None:
        self.client = client
        self.events = index
        self.reservations = f"{index}_reservations"

    @_translated
    async def ensure_indexes(self) -> None:
        """Create both indices with their mappings when missing (safe to call concurrently)."""
        for alias, mapping in ((self.events, EVENTS_MAPPING), (self.reservations, RESERVATIONS_MAPPING)):
            if await self.client.indices.exists_alias(name=alias):
                continue
            if await self.client.indices.exists(index=alias):
                raise RuntimeError(f"{alias} is an index, not the alias this service writes through")
            body = {"settings": _SETTINGS, "mappings": mapping, "aliases": {alias: {"is_write_index": True}}}
            try:
                await self.client.indices.create(index=f"{alias}-v1", body=body)
                log.info("created index %s-v1 behind alias %s", alias, alias)
            except RequestError as exc:
                if exc.error != "resource_already_exists_exception":
                    raise
            await self.client.cluster.health(index=alias, wait_for_status="yellow")

    @_translated
    async def _get(self, index: str, doc_id: str, *, realtime: bool = True) -> dict[str, Any] | None:
        # ignore=404: a missing document is an answer here, not a failure to log.
        found: dict[str, Any] = await self.client.get(index=index, id=doc_id, ignore=404, realtime=realtime)
        if not found.get("found"):
            if "error" in found:  # the index itself is missing
                raise NotFoundError(404, "index_not_found_exception", found)
            return None
        return found

    async def get_event(self, event_id: int) -> Doc | None:
        """The visible document of an event, None when unknown, deleted or a placeholder.

        Read as searches see it (not real-time): what this answers, a search finds too."""
        found = await self._get(self.events, str(event_id), realtime=False)
        if found is None:
            return None
        doc: Doc = found["_source"]
        if doc.get("deleted") or doc.get("placeholder"):
            return None
        return doc

    @_translated
    async def read_event(self, event_id: int) -> "Versioned | None":
        """An event's document as stored now (real-time), with the sequence numbers its
        conditional write names; None when there is none."""
        found = await self._get(self.events, str(event_id))
        return (
            None if found is None else Versioned(found["_source"], found["_seq_no"], found["_primary_term"])
        )

    @_translated
    async def write_event(
        self, event_id: int, doc: Doc, read: "Versioned | None", *, refresh: bool = True
    ) -> bool:
        # exercise POLY5, level 2: begin
        """Write `doc` only if nothing wrote since `read` (optimistic concurrency on
        _seq_no/_primary_term; with no `read`, only if there is still no document). False
        when something did, and nothing was written."""
        guard: dict[str, Any] = (
            {"if_seq_no": read.seq_no, "if_primary_term": read.primary_term}
            if read is not None
            else {"op_type": "create"}
        )
        try:
            await self.client.index(
                index=self.events,
                id=str(event_id),
                body=doc,
                require_alias=True,
                # A reader searching right after a booking sees it.
                refresh="wait_for" if refresh else "false",
                **guard,
            )
        except ConflictError:
            return False
        return True
        # exercise POLY5, level 2: end

    @_translated
    async def refresh(self) -> None:
        await self.client.indices.refresh(index=f"{self.events},{self.reservations}")

    @_translated
    async def refresh_events(self) -> None:
        """Make the event documents written so far visible to searches (and `get_event`) now,
        not at the next periodic refresh."""
        await self.client.indices.refresh(index=self.events)

    @_translated
    async def record_reservations(self, docs: list[Doc], *, refresh: bool) -> list[bool | Exception]:
        """Store reservations' states in one bulk request, in order (two versions of one
        reservation apply one after the other), each unless this or a newer version of it is
        stored (external versioning): per document whether it was newer, or why it
        could not be written. `refresh`: searches see them all when this returns (a recount
        follows). It waits for the index's periodic refresh rather than forcing one: a forced
        refresh before each recount's aggregation multiplied the search node's CPU per booking
        (docs/performance.md)."""
        body: list[Doc] = []
        for doc in docs:
            action = {
                "_id": doc["reservationId"],
                "version": doc["version"],
                "version_type": "external",
            }
            body += [{"index": action}, doc]
        answer = await self.client.bulk(
            body=body, index=self.reservations, require_alias=True, refresh="wait_for" if refresh else "false"
        )
        results: list[bool | Exception] = []
        for item in answer["items"]:
            outcome = item["index"]
            status = int(outcome.get("status", 500))
            if status < 300:
                results.append(True)
            elif status == 409:  # this or a newer version is stored
                results.append(False)
            elif _unavailable(status, (outcome.get("error") or {}).get("type")):
                # Not this document's fault: it waits for the engine like a refused request.
                results.append(SearchUnavailable(f"reservation {outcome.get('_id')}: {outcome.get('error')}"))
            else:
                results.append(RuntimeError(f"reservation {outcome.get('_id')}: {outcome.get('error')}"))
        return results

    @_translated
    async def reservation_totals(self, event_id: int) -> ReservationTotals:
        answer = await self.client.search(
            index=self.reservations,
            body={
                "size": 0,
                "query": {"term": {"eventId": event_id}},
                "aggs": {
                    # Over every status: a cancellation leaves "confirmed" yet is newer.
                    "seq": {"max": {"field": "_seq_no"}},
                    "counted": {
                        "filter": {"terms": {"status": sorted(COUNTED_STATUSES)}},
                        "aggs": {"revenue": {"sum": {"field": "totalAmount"}}},
                    },
                },
            },
        )
        aggs = answer["aggregations"]
        seq = aggs["seq"]["value"]
        return ReservationTotals(
            confirmed=int(aggs["counted"]["doc_count"]),
            revenue=_decimal(aggs["counted"]["revenue"]["value"]),
            seq=-1 if seq is None else int(seq),
        )

    @_translated
    async def _page(
        self, query: dict[str, Any], sort: list[Any], offset: int, size: int
    ) -> tuple[list[Doc], int]:
        answer = await self.client.search(
            index=self.events,
            body={
                "query": {"bool": {"must": [query], "must_not": _HIDDEN}},
                "sort": sort,
                "from": offset,
                "size": size,
                "track_total_hits": True,
            },
        )
        hits = answer["hits"]
        return [h["_source"] for h in hits["hits"]], int(hits["total"]["value"])

    async def search(self, criteria: dict[str, str], offset: int, size: int) -> tuple[list[Doc], int]:
        """Full-text search, every given criterion must match (case and accents ignored)."""
        clauses = [{"match": {field: {"query": text, "operator": "and"}}} for field, text in criteria.items()]
        if not clauses:
            return await self._page(
                {"match_all": {}}, [{"eventDate": "asc"}, {"eventId": "asc"}], offset, size
            )
        query = {"bool": {"must": clauses}}
        return await self._page(query, ["_score", {"eventDate": "asc"}, {"eventId": "asc"}], offset, size)

    async def high_occupancy(self, min_rate: float, offset: int, size: int) -> tuple[list[Doc], int]:
        query = {"range": {"occupancyRate": {"gte": min_rate}}}
        return await self._page(query, [{"occupancyRate": "desc"}, {"eventId": "asc"}], offset, size)

    _TOTALS = {
        "capacity": {"sum": {"field": "totalCapacity"}},
        "booked": {"sum": {"field": "bookedSeats"}},
        "available": {"sum": {"field": "availableSeats"}},
        "revenue": {"sum": {"field": "revenue"}},
        "reservations": {"sum": {"field": "confirmedReservations"}},
        "rate": {"avg": {"field": "occupancyRate"}},
    }

    @staticmethod
    def _totals(bucket: dict[str, Any], count: int) -> dict[str, Any]:
        return {
            "events": count,
            "capacity": int(bucket["capacity"]["value"] or 0),
            "booked": int(bucket["booked"]["value"] or 0),
            "available": int(bucket["available"]["value"] or 0),
            "revenue": _decimal(bucket["revenue"]["value"]),
            "reservations": int(bucket["reservations"]["value"] or 0),
            "averageRate": float(bucket["rate"]["value"] or 0.0),
        }

    @_translated
    async def overview(self) -> dict[str, Any]:
        answer = await self.client.search(
            index=self.events,
            body={
                "size": 0,
                "track_total_hits": True,
                "query": {"bool": {"must_not": _HIDDEN}},
                "aggs": self._TOTALS,
            },
        )
        return self._totals(answer["aggregations"], int(answer["hits"]["total"]["value"]))

    @_translated
    async def by_location(self) -> list[dict[str, Any]]:
        answer = await self.client.search(
            index=self.events,
            body={
                "size": 0,
                "query": {"bool": {"must_not": _HIDDEN}},
                "aggs": {
                    "locations": {
                        "terms": {
                            "field": "location.keyword",
                            "size": MAX_LOCATIONS,
                            "order": {"_key": "asc"},
                        },
                        "aggs": self._TOTALS,
                    }
                },
            },
        )
        return [
            {"location": b["key"], **self._totals(b, int(b["doc_count"]))}
            for b in answer["aggregations"]["locations"]["buckets"]
        ]
