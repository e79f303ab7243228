"""HTML of the console, rendered on the server: the page and each panel's fragment. Pure
functions of the data read from the sources (and the time, passed in). Every string that
comes from a source goes through `esc`: event names, user names and reasons are user input."""

import html
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from shared.money import PRICING_CURRENCY, display

SAGA_STATUSES = ("STARTED", "RUNNING", "COMPENSATING", "COMPLETED", "COMPENSATED", "COMPENSATION_FAILED")
TERMINAL = frozenset({"COMPLETED", "COMPENSATED", "COMPENSATION_FAILED"})
STEP_STATUSES = frozenset({"started", "succeeded", "failed"})


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _css_word(value: Any, allowed: frozenset[str] | tuple[str, ...]) -> str:
    """A class name made from data only when it is one we know (never raw input)."""
    text = str(value)
    return text if text in allowed else "other"


def _time(value: Any) -> str:
    moment = _parse(value)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" if moment else ""


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _duration_ms(step: dict[str, Any], now: datetime) -> int | None:
    began = _parse(step.get("startedAt"))
    if began is None:
        return None
    ended = _parse(step.get("finishedAt")) or now
    return max(0, round((ended - began).total_seconds() * 1000))


def _money(value: Any, currency: Any) -> str:
    """ "30 000 XOF" (shared.money's rendering); what is not an amount is shown escaped."""
    try:
        return esc(display(Decimal(str(value)), str(currency)))
    except (InvalidOperation, ValueError):
        return f"{esc(value)} {esc(currency)}"


def unreachable(source: str, reason: str) -> str:
    return (
        f'<div class="unreachable" data-source="{esc(source)}">'
        f"<strong>{esc(source)} unreachable</strong> ({esc(reason)}); retrying.</div>"
    )


# --- sagas -----------------------------------------------------------------------------------


def slow_motion(health: dict[str, Any] | None) -> str:
    if health is None:
        return ""
    delay = health.get("stepDelayMs")
    if isinstance(delay, int) and delay > 0:
        badge = (
            f'<span class="slow-on" data-delay-ms="{delay}">'
            f"slow motion on: {delay} ms before each step</span>"
        )
    else:
        badge = '<span class="slow-off">slow motion off</span>'
    return badge + teaching_faults(health)


def teaching_faults(health: dict[str, Any]) -> str:
    # TEACHING_FAULTS is fleet-wide: the orchestrator's /health names what the fleet runs with.
    faults = [str(f) for f in health.get("teachingFaults") or []]
    if not faults:
        return ""
    return (
        f' <span class="teaching-faults" style="background:#b00020;color:#fff;padding:0 .4em">'
        f"teaching faults on: {esc(', '.join(faults))}</span>"
    )


def steps_strip(steps: list[dict[str, Any]], now: datetime) -> str:
    chips = []
    for step in steps:
        kind = "compensation" if step.get("kind") == "compensation" else "step"
        status = _css_word(step.get("status"), STEP_STATUSES)
        attempts = step.get("attempts") or 1
        took = _duration_ms(step, now)
        details = [f"{took} ms" if took is not None else ""]
        if isinstance(attempts, int) and attempts > 1:
            details.append(f"{attempts} attempts")
        title = esc(step.get("error") or "")
        chips.append(
            f'<span class="step {kind} st-{status}" data-step="{esc(step.get("name"))}" data-kind="{kind}" '
            f'data-status="{esc(step.get("status"))}" data-attempts="{esc(attempts)}" title="{title}">'
            f"{'↩ ' if kind == 'compensation' else ''}{esc(step.get('name'))}"
            f" <small>{esc(' · '.join(d for d in details if d))}</small></span>"
        )
    return "".join(chips) or '<span class="muted">no step yet</span>'


def trace_link(saga: dict[str, Any], zipkin: str | None) -> str:
    """A link to the saga's trace in Zipkin's UI (docs/tracing.md), empty when it has none."""
    trace_id = str(saga.get("traceId") or "")
    if not zipkin or not trace_id or not all(c in "0123456789abcdef" for c in trace_id):
        return ""
    url = f"{zipkin.rstrip('/')}/traces/{trace_id}"
    return (
        f' <a class="trace-link" href="{esc(url)}" target="_blank" rel="noopener" '
        f'title="the whole booking in Zipkin: each service, statement and message">trace</a>'
    )


def sagas_panel(
    listing: dict[str, Any],
    details: dict[str, dict[str, Any]],
    status: str | None,
    page: int,
    now: datetime,
    zipkin: str | None = None,
) -> str:
    items = listing.get("items") or []
    total = int(listing.get("total") or 0)
    size = int(listing.get("size") or 20) or 20
    pages = max(1, -(-total // size))
    with_type = any("type" in s for s in items)
    rows = []
    for summary in items:
        saga_id = str(summary.get("sagaId"))
        saga = details.get(saga_id, summary)
        saga_status = str(saga.get("status"))
        error = saga.get("error")
        type_cell = f'<td class="type">{esc(saga.get("type"))}</td>' if with_type else ""
        rows.append(
            f'<tr class="saga" data-saga-id="{esc(saga_id)}" data-status="{esc(saga_status)}">'
            f'<td><a href="#" class="saga-link" data-saga="{esc(saga_id)}">{esc(saga_id[:8])}</a>'
            f"{trace_link(saga, zipkin)}</td>"
            f"{type_cell}"
            f'<td><span class="status s-{_css_word(saga_status, SAGA_STATUSES)}">'
            f"{esc(saga_status)}</span></td>"
            f"<td>{esc(saga.get('userId'))}</td><td>{esc(saga.get('eventId'))}</td>"
            f"<td>{esc(saga.get('seats'))}</td>"
            f"<td class=num>{_money(saga.get('amount'), saga.get('currency'))}</td>"
            f"<td>{_time(saga.get('createdAt'))}</td>"
            f'<td class="steps">{steps_strip(saga.get("steps") or [], now)}'
            + (f'<div class="reason">{esc(error)}</div>' if error else "")
            + "</td></tr>"
        )
    head = "<th>saga</th>" + ("<th>type</th>" if with_type else "")
    body = "".join(rows) or f'<tr><td colspan="{9 if with_type else 8}" class="muted">no saga yet</td></tr>'
    return (
        f'<div class="pager" data-page="{page}" data-pages="{pages}" data-total="{total}">'
        f"{total} saga(s){' with status ' + esc(status) if status else ''}, newest first; "
        f"page {page} of {pages}</div>"
        f"<table class=sagas><thead><tr>{head}<th>status</th><th>user</th><th>event</th><th>seats</th>"
        f"<th>amount</th><th>created</th><th>steps</th></tr></thead><tbody>{body}</tbody></table>"
    )


def saga_log(saga: dict[str, Any], now: datetime, zipkin: str | None = None) -> str:
    """The full log of one saga: the same data as GET /api/saga/{id}, as a table and as JSON."""
    rows = "".join(
        f'<tr class="{"log-compensation" if s.get("kind") == "compensation" else "log-step"}">'
        f"<td>{esc(s.get('name'))}</td><td>{esc(s.get('kind'))}</td><td>{esc(s.get('status'))}</td>"
        f"<td>{esc(s.get('attempts'))}</td><td>{_time(s.get('startedAt'))}</td>"
        f"<td>{_time(s.get('finishedAt'))}</td><td>{esc(_duration_ms(s, now))} ms</td>"
        f"<td>{esc(s.get('error') or '')}</td></tr>"
        for s in saga.get("steps") or []
    )
    return (
        f'<div class="saga-log" data-saga-id="{esc(saga.get("sagaId"))}" '
        f'data-status="{esc(saga.get("status"))}">'
        f'<h3>saga {esc(saga.get("sagaId"))} <span class="status s-'
        f'{_css_word(saga.get("status"), SAGA_STATUSES)}">{esc(saga.get("status"))}</span>'
        f"{trace_link(saga, zipkin)}</h3>"
        f"<p>reservation {esc(saga.get('reservationId') or '-')} "
        f"· payment {esc(saga.get('paymentId') or '-')}"
        f" · {esc(saga.get('error') or 'no error')}</p>"
        "<table><thead><tr><th>step</th><th>kind</th><th>status</th><th>attempts</th><th>started</th>"
        f"<th>finished</th><th>took</th><th>error</th></tr></thead><tbody>{rows}</tbody></table>"
        f"<pre>{esc(json.dumps(saga, indent=2, ensure_ascii=False))}</pre></div>"
    )


# --- seats -----------------------------------------------------------------------------------


def seats_panel(listing: dict[str, Any], analytics: dict[int, Any], page: int) -> str:
    """Each event's capacity as a bar (booked, the 5 % margin, available) and the analytics
    read model's numbers beside the event service's. `analytics[id]` is the read model's
    document, None when it has none, or a string saying why it could not be read."""
    items = listing.get("items") or []
    total = int(listing.get("total") or 0)
    size = int(listing.get("size") or 10) or 10
    pages = max(1, -(-total // size))
    rows = []
    for event in items:
        event_id = int(event["id"])
        capacity = max(1, int(event.get("totalCapacity") or 0))
        booked = int(event.get("bookedSeats") or 0)
        available = int(event.get("availableSeats") or 0)
        margin = max(0, capacity - booked - available)
        bar = "".join(
            f'<span class="{cls}" style="width:{100 * n / capacity:.2f}%" title="{label}: {n}"></span>'
            for cls, label, n in (
                ("booked", "booked", booked),
                ("margin", "5 % safety margin", margin),
                ("available", "available", available),
            )
        )
        model = analytics.get(event_id)
        if isinstance(model, dict):
            model_booked = int(model.get("bookedSeats") or 0)
            diff = model_booked - booked
            verdict = "in step" if diff == 0 else f"differs by {diff:+d}"
            beside = (
                f'<span class="analytics" data-analytics-booked="{model_booked}" data-diff="{diff}">'
                f"read model: {model_booked} booked, {esc(model.get('availableSeats'))} available · "
                f'<b class="{"same" if diff == 0 else "diff"}">{verdict}</b></span>'
            )
        elif model is None:
            beside = '<span class="analytics diff" data-diff="missing">not in the read model yet</span>'
        else:
            beside = f'<span class="analytics diff" data-diff="unreachable">{esc(model)}</span>'
        rows.append(
            f'<div class="event" data-event-id="{event_id}" '
            f'data-booked="{booked}" data-available="{available}">'
            f'<div class="event-name"><b>{esc(event.get("name"))}</b> · {esc(event.get("location"))}'
            f" · #{event_id} · {_money(event.get('ticketPrice'), PRICING_CURRENCY)}</div>"
            f'<div class="bar">{bar}</div>'
            f'<div class="numbers">event service: {booked} booked, {margin} margin, {available} available of '
            f"{esc(event.get('totalCapacity'))} · {beside}</div></div>"
        )
    return (
        f'<div class="pager" data-page="{page}" data-pages="{pages}" data-total="{total}">'
        f"{total} event(s); page {page} of {pages}</div>"
        + ("".join(rows) or '<p class="muted">no event yet</p>')
    )


def event_options(listing: dict[str, Any]) -> str:
    """The booking form's events, newest first."""
    items = sorted(listing.get("items") or [], key=lambda e: int(e["id"]), reverse=True)
    return "".join(
        f'<option value="{int(e["id"])}" data-price="{esc(e.get("ticketPrice"))}">'
        f"#{int(e['id'])} {esc(e.get('name'))} ({_money(e.get('ticketPrice'), PRICING_CURRENCY)})</option>"
        for e in items
    )


# --- messages --------------------------------------------------------------------------------


def _rate(stats: dict[str, Any] | None, key: str) -> str:
    details = (stats or {}).get(f"{key}_details") or {}
    return f"{float(details.get('rate') or 0):.1f}/s"


def broker_part(
    exchange_name: str,
    exchange: dict[str, Any] | None,
    bindings: list[dict[str, Any]],
    queues: list[dict[str, Any]],
) -> str:
    if exchange is None:
        return f'<p class="muted">exchange {esc(exchange_name)} not declared yet</p>'
    by_name = {str(q.get("name")): q for q in queues}
    keys: dict[str, list[str]] = {}
    for binding in bindings:
        if binding.get("destination_type") == "queue":
            keys.setdefault(str(binding.get("destination")), []).append(str(binding.get("routing_key")))
    rows = []
    for name in sorted(keys):
        queue = by_name.get(name, {})
        retry = by_name.get(f"{name}.retry", {})
        dead = by_name.get(f"{name}.dlq", {})
        stats = queue.get("message_stats")
        retried = ((retry.get("message_stats") or {}).get("publish")) or 0
        rows.append(
            f'<tr class="queue" data-queue="{esc(name)}"><td>'
            f"{esc(name)}</td><td>{esc(', '.join(keys[name]))}</td>"
            f'<td class=num data-depth="{esc(queue.get("messages", 0))}">{esc(queue.get("messages", 0))}</td>'
            f"<td class=num>{esc(queue.get('consumers', 0))}</td>"
            f"<td class=num>{_rate(stats, 'publish')}</td><td class=num>{_rate(stats, 'deliver_get')}</td>"
            f"<td class=num>{_rate(stats, 'ack')}</td>"
            f"<td class=num>{esc(retry.get('messages', 0))} now · {esc(retried)} total</td>"
            f'<td class="num{" dead" if dead.get("messages") else ""}">'
            f"{esc(dead.get('messages', 0))}</td></tr>"
        )
    stats = exchange.get("message_stats")
    return (
        f'<p class="exchange">exchange <b>{esc(exchange_name)}</b> ({esc(exchange.get("type"))}) · in '
        f"{_rate(stats, 'publish_in')} · out {_rate(stats, 'publish_out')}</p>"
        "<table><thead><tr><th>queue</th><th>binding</th><th>depth</th><th>consumers</th><th>in</th>"
        "<th>delivered</th><th>acked</th><th>retry</th><th>dead letters</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def recent_part(recent: dict[str, Any]) -> str:
    items = recent.get("items") or []
    counts: dict[str, int] = {}
    for event in items:
        counts[str(event.get("eventType"))] = counts.get(str(event.get("eventType")), 0) + 1
    chips = "".join(
        f'<span class="key" data-routing-key="{esc(k)}">{esc(k)}: {n}</span>'
        for k, n in sorted(counts.items())
    )
    rows = "".join(
        f'<tr class="message" data-routing-key="{esc(e.get("eventType"))}">'
        f"<td>{_time(e.get('occurredAt'))}</td>"
        f"<td>{esc(e.get('eventType'))}</td>"
        f'<td><a href="#" class="aggregate-link" data-aggregate="{esc(e.get("aggregateId"))}">'
        f"{esc(e.get('aggregateType'))} {esc(e.get('aggregateId'))}</a>"
        f"</td><td>v{esc(e.get('version'))}</td></tr>"
        for e in items
    )
    return (
        f"<p>last {len(items)} of {esc(recent.get('total', 0))} messages, as the event store recorded them, "
        f"by routing key: {chips}</p>"
        "<table><thead><tr><th>at</th><th>routing key</th><th>aggregate</th><th>version</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def aggregate_options(recent: dict[str, Any]) -> str:
    seen: dict[str, str] = {}
    for event in recent.get("items") or []:
        seen.setdefault(str(event.get("aggregateId")), str(event.get("aggregateType")))
    return "".join(f'<option value="{esc(i)}">{esc(t)}</option>' for i, t in seen.items())


# --- event store -----------------------------------------------------------------------------


def aggregate_view(aggregate_id: str, history: dict[str, Any] | None) -> str:
    if history is None:
        return f'<p class="muted">no event recorded for aggregate {esc(aggregate_id)}</p>'
    events = history.get("events") or []
    latest = int(history.get("currentVersion") or len(events) or 1)
    timeline = "".join(
        f'<li data-version="{esc(e.get("version"))}"><b>v{esc(e.get("version"))}</b> '
        f"{esc(e.get('eventType'))} <small>{_time(e.get('occurredAt'))}</small></li>"
        for e in events
    )
    target = quote(aggregate_id, safe="")
    return (
        f'<div class="aggregate" data-aggregate="{esc(aggregate_id)}" data-latest="{latest}">'
        f"<p>{esc(history.get('aggregateType'))} <b>{esc(aggregate_id)}</b>: {latest} version(s)</p>"
        f'<ol class="timeline">{timeline}</ol>'
        f'<label>state at version <output id="version-out">{latest}</output> '
        f'<input type="range" id="version-slider" min="1" max="{latest}" value="{latest}" step="1" '
        f'data-target="{esc(target)}"></label>'
        '<div id="state"></div></div>'
    )


def state_view(replay: dict[str, Any] | None) -> str:
    if replay is None:
        return '<p class="muted">nothing to reconstruct</p>'
    state = replay.get("state") or {}
    status = state.get("status") if isinstance(state, dict) else None
    return (
        f'<div class="replay" data-version="{esc(replay.get("version"))}" data-status="{esc(status)}">'
        f"<p>version {esc(replay.get('version'))} of {esc(replay.get('latestVersion'))}: "
        f"{esc(replay.get('eventsApplied'))} event(s) applied"
        f"{' (from a snapshot)' if replay.get('fromSnapshot') else ''}; status "
        f'<b class="replay-status">{esc(status)}</b></p>'
        f"<pre>{esc(json.dumps(state, indent=2, ensure_ascii=False, default=str))}</pre></div>"
    )
