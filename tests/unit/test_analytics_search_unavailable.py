"""Which OpenSearch answers the analytics store reports as the engine unable to serve now
(SearchUnavailable, engine-down for the broker) and which stay the request's fault."""

from opensearchpy import ConnectionError, TransportError

from analytics_service.store import SearchUnavailable, unavailable_error


def _answer(status: int, kind: str, root: str | None = None) -> TransportError:
    info = {"error": {"type": kind, "root_cause": [{"type": root or kind, "reason": "…"}]}, "status": status}
    return TransportError(status, kind, info)


def test_a_starting_blocked_or_overloaded_engine_is_unavailable():
    for exc in (
        _answer(503, "search_phase_execution_exception", "no_shard_available_action_exception"),
        _answer(503, "cluster_block_exception"),
        _answer(503, "unavailable_shards_exception"),
        _answer(429, "cluster_block_exception"),
        _answer(429, "es_rejected_execution_exception"),
        _answer(403, "cluster_block_exception"),  # an index write block set by an operator
        _answer(500, "search_phase_execution_exception", "no_shard_available_action_exception"),
    ):
        assert isinstance(unavailable_error(exc), SearchUnavailable), exc


def test_a_bad_request_and_an_unreachable_node_are_not():
    for exc in (
        _answer(400, "mapper_parsing_exception"),
        _answer(400, "strict_dynamic_mapping_exception"),
        _answer(404, "index_not_found_exception"),
        _answer(409, "version_conflict_engine_exception"),
        ConnectionError("N/A", "refused", OSError("refused")),  # registered on its own
    ):
        assert unavailable_error(exc) is None, exc
