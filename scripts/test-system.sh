#!/usr/bin/env bash
# System test against a RUNNING fleet (native: scripts/start-dev.sh, or docker-compose up -d):
# checks each engine with its own protocol, then tells the booking story over HTTP (the same
# steps as `fleet demo` and tests/e2e/test_story_fleet.py, see fleetctl/story.py) and prints
# ✓/✗ per step with its time, then "N passed, M failed". Exits non-zero on any failure.
#
#   scripts/test-system.sh             native fleet on 127.0.0.1 (engines checked with the
#                                      project's own tools: pg_isready, redis-cli, rabbitmqctl)
#   scripts/test-system.sh --compose   docker-compose fleet (engines checked with `docker exec`
#                                      on the handout's container names when docker is here,
#                                      else over their published ports; missing tools: ○)
#
# Environment: TEST_HOST (default 127.0.0.1) for every service URL, or one by one EVENT_URL,
# RESERVATION_URL, PAYMENT_URL, ANALYTICS_URL, EVENT_STORE_URL, SAGA_URL, NOTIFICATION_URL;
# ENGINE_HOST (default 127.0.0.1); SKIP_ENGINES=1 skips the engine checks; STORY_DEADLINE
# seconds to wait for a saga or a message (default 30); RABBITMQ_USER/RABBITMQ_PASSWORD for the
# management API (default guest/guest). Needs bash, curl and python3 (standard library only).
# --compose: the engines' host ports are docker-compose.yml's PORT_* variables (the same
# defaults), the services' URLs follow PORT_EVENT_SERVICE, … unless *_URL is set.
# Last, the commands of docs/handout.md, with the database shells: natively
# scripts/infra.sh psql|mongosh|redis-cli|rabbitmqctl, which follow the services' own settings
# (EVENT_DATABASE_URL, RESERVATION_MONGO_DATABASE, PAYMENT_REDIS_URL, ANALYTICS_INDEX, …);
# with --compose the handout's own `docker exec <container> psql|mongosh|redis-cli|rabbitmqctl`.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE=native
[[ "${1:-}" == "--compose" ]] && MODE=compose
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { sed -n '2,20p' "$0"; exit 0; }

HOST="${TEST_HOST:-127.0.0.1}"
ENGINE_HOST="${ENGINE_HOST:-127.0.0.1}"
# Host ports: natively the engines' own; compose publishes one container per database, each
# on the port its PORT_* variable names (docker-compose.yml), with the handout's defaults.
if [[ "$MODE" == compose ]]; then
  PG_PORTS=("${PORT_POSTGRES_EVENTS:-5432}" "${PORT_POSTGRES_PAYMENTS:-5433}" "${PORT_POSTGRES_SAGAS:-5434}")
  MONGO_PORTS=("${PORT_MONGO_RESERVATIONS:-27017}" "${PORT_MONGO_EVENT_STORE:-27018}" "${PORT_MONGO_NOTIFICATIONS:-27019}")
  REDIS_PORT="${PORT_REDIS_CACHE:-6379}"
  RABBIT_UI_PORT="${PORT_RABBITMQ_UI:-15672}"
  SEARCH_PORT="${PORT_OPENSEARCH:-9200}"
  svc_port() { local var=$1; printf '%s' "${!var:-$2}"; }
else
  PG_PORTS=(5432) MONGO_PORTS=(27017) REDIS_PORT=6379 RABBIT_UI_PORT=15672 SEARCH_PORT=9200
  svc_port() { printf '%s' "$2"; }
fi
EVENT_URL="${EVENT_URL:-http://$HOST:$(svc_port PORT_EVENT_SERVICE 8080)}"
RESERVATION_URL="${RESERVATION_URL:-http://$HOST:$(svc_port PORT_RESERVATION_SERVICE 3000)}"
PAYMENT_URL="${PAYMENT_URL:-http://$HOST:$(svc_port PORT_PAYMENT_SERVICE 5000)}"
ANALYTICS_URL="${ANALYTICS_URL:-http://$HOST:$(svc_port PORT_ANALYTICS_SERVICE 8081)}"
EVENT_STORE_URL="${EVENT_STORE_URL:-http://$HOST:$(svc_port PORT_EVENT_STORE_SERVICE 3001)}"
SAGA_URL="${SAGA_URL:-http://$HOST:$(svc_port PORT_SAGA_ORCHESTRATOR 3002)}"
NOTIFICATION_URL="${NOTIFICATION_URL:-http://$HOST:$(svc_port PORT_NOTIFICATION_SERVICE 5001)}"
DEADLINE="${STORY_DEADLINE:-30}"
RABBIT_AUTH="${RABBITMQ_USER:-guest}:${RABBITMQ_PASSWORD:-guest}"
DECLINE_ABOVE=1000000

PASSED=0
FAILED=0
SKIPPED=0
DETAIL=""
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

command -v curl >/dev/null || { echo "curl is required" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 2; }

if [[ "$(date +%3N)" =~ ^[0-9]+$ ]]; then
  now_ms() { date +%s%3N; }
else  # BSD date has no %N
  now_ms() { python3 -c 'import time; print(int(time.time() * 1000))'; }
fi
if [[ -t 1 ]]; then
  OK=$'\033[32m✓\033[0m' KO=$'\033[31m✗\033[0m' SKIP=$'\033[33m○\033[0m'
else
  OK='✓' KO='✗' SKIP='○'
fi
new_key() { cat /proc/sys/kernel/random/uuid 2>/dev/null || python3 -c 'import uuid; print(uuid.uuid4())'; }

# step NAME FUNCTION [ARGS...]: runs FUNCTION (which sets DETAIL), prints ✓/✗ with its time.
step() {
  local name=$1 fn=$2 started ms
  shift 2
  DETAIL=""
  started=$(now_ms)
  if "$fn" "$@"; then
    ms=$(( $(now_ms) - started ))
    PASSED=$((PASSED + 1))
    printf "  $OK %-50s %6s ms  %s\n" "$name" "$ms" "$DETAIL"
  else
    ms=$(( $(now_ms) - started ))
    FAILED=$((FAILED + 1))
    printf "  $KO %-50s %6s ms  %s\n" "$name" "$ms" "$DETAIL"
  fi
}

skip() {
  SKIPPED=$((SKIPPED + 1))
  printf "  $SKIP %-50s %9s  skipped: %s\n" "$1" "" "$2"
}

# http METHOD URL [JSON]: sets STATUS and BODY (file $TMP/body); POSTs carry an Idempotency-Key.
http() {
  local method=$1 url=$2 data=${3:-}
  local args=(-sS -o "$TMP/body" -w '%{http_code}' -X "$method" --max-time 15)
  if [[ -n "$data" ]]; then
    args+=(-H 'Content-Type: application/json' -H "Idempotency-Key: $(new_key)" --data "$data")
  fi
  STATUS=$(curl "${args[@]}" "$url" 2>"$TMP/curl.err") || STATUS="000"
  BODY=$(cat "$TMP/body" 2>/dev/null)
  [[ "$STATUS" == "000" ]] && BODY=$(cat "$TMP/curl.err")
  return 0
}

# jv EXPR: evaluates a Python expression on the JSON body `d` (None -> empty, bools -> true/false).
jv() {
  printf '%s' "$BODY" | python3 -c '
import json, sys
try:
    d = json.loads(sys.stdin.read() or "null")
except ValueError:
    d = None
def items(x):
    if isinstance(x, list):
        return x
    for k in ("items", "events", "notifications", "history", "results", "data"):
        if isinstance(x, dict) and isinstance(x.get(k), list):
            return x[k]
    return []
try:
    v = eval(sys.argv[1])
except Exception:
    v = None
print("" if v is None else json.dumps(v) if isinstance(v, (bool, dict, list)) else v)
' "$1"
}

short() { printf '%s' "$BODY" | tr -d '\n' | cut -c1-200; }

# expect CODE: the last answer had this status, else DETAIL says what came back.
expect() {
  if [[ "$STATUS" != "$1" ]]; then
    DETAIL="HTTP $STATUS (expected $1): $(short)"
    return 1
  fi
}

# poll FUNCTION WHAT: calls FUNCTION until it succeeds or STORY_DEADLINE passes.
poll() {
  local fn=$1 what=$2 deadline=$(( $(now_ms) + DEADLINE * 1000 ))
  while true; do
    "$fn" && return 0
    if (( $(now_ms) > deadline )); then
      DETAIL="waited ${DEADLINE} s for $what; last: HTTP $STATUS $(short)"
      return 1
    fi
    sleep 0.3
  done
}

future_date() {
  python3 -c 'import datetime as d, sys; t = d.datetime.now(d.timezone.utc) + d.timedelta(days=int(sys.argv[1])); print(t.strftime("%Y-%m-%dT20:00:00Z"))' "$1"
}

# ---- engines -------------------------------------------------------------------------------

have() { command -v "$1" >/dev/null 2>&1; }
# The compose fleet's containers run here (v1 and v2 alike: by the handout's container names).
compose_here() {
  have docker && [[ "$(docker inspect -f '{{.State.Running}}' rabbitmq postgres-events 2>/dev/null)" == $'true\ntrue' ]]
}
PG_CONTAINERS=(postgres-events postgres-payments postgres-sagas)

check_postgres() {
  local port=$1
  DETAIL="$(pg_isready -h "$ENGINE_HOST" -p "$port" 2>&1)"
}
check_postgres_exec() {
  local container=$1
  DETAIL="$(docker exec "$container" pg_isready 2>&1) (in $container)"
}
check_redis() {
  local answer
  answer="$(redis-cli -h "$ENGINE_HOST" -p "$REDIS_PORT" ping 2>&1)"
  DETAIL="redis-cli ping: $answer"
  [[ "$answer" == "PONG" ]]
}
check_redis_exec() {
  local answer
  answer="$(docker exec redis-cache redis-cli ping 2>&1)"
  DETAIL="redis-cli ping (in redis-cache): $answer"
  [[ "$answer" == "PONG" ]]
}
check_rabbitmq_native() {
  DETAIL="$("$ROOT/scripts/infra.sh" rabbitmqctl -q ping 2>&1 | tr '\n' ' ')"
  "$ROOT/scripts/infra.sh" rabbitmqctl -q ping >/dev/null 2>&1
}
check_rabbitmq_compose_exec() {
  docker exec rabbitmq rabbitmq-diagnostics -q ping >/dev/null 2>&1 \
    && DETAIL="rabbitmq-diagnostics -q ping (in its container): ok"
}
check_rabbitmq_api() {
  http GET "http://$RABBIT_AUTH@$ENGINE_HOST:$RABBIT_UI_PORT/api/aliveness-test/%2F"
  expect 200 || return 1
  [[ "$(jv 'd.get("status")')" == "ok" ]] || { DETAIL="aliveness: $(short)"; return 1; }
  DETAIL="management API aliveness-test: ok"
}
check_mongo() {
  local port=$1
  DETAIL="mongo_ping.py $ENGINE_HOST $port"
  python3 "$ROOT/scripts/mongo_ping.py" "$ENGINE_HOST" "$port" && DETAIL="{ping: 1} -> ok: 1 on $port"
}
check_opensearch() {
  http GET "http://$ENGINE_HOST:$SEARCH_PORT/_cluster/health?wait_for_status=yellow&timeout=5s"
  expect 200 || return 1
  local status; status=$(jv 'd.get("status")')
  DETAIL="_cluster/health: $status"
  [[ "$status" == "green" || "$status" == "yellow" ]]
}

check_engines() {
  echo "engines ($MODE, on $ENGINE_HOST):"
  if [[ "${SKIP_ENGINES:-0}" == "1" ]]; then
    skip "engine checks" "SKIP_ENGINES=1"
    return
  fi
  local port i
  for i in "${!PG_PORTS[@]}"; do
    port=${PG_PORTS[$i]}
    if [[ "$MODE" == compose ]] && compose_here; then
      step "PostgreSQL ${PG_CONTAINERS[$i]} (pg_isready)" check_postgres_exec "${PG_CONTAINERS[$i]}"
    elif have pg_isready; then step "PostgreSQL :$port (pg_isready)" check_postgres "$port"
    else skip "PostgreSQL :$port" "pg_isready not installed here"; fi
  done
  if [[ "$MODE" == compose ]] && compose_here; then step "Redis redis-cache (redis-cli ping)" check_redis_exec
  elif have redis-cli; then step "Redis :$REDIS_PORT (redis-cli ping)" check_redis
  else skip "Redis :$REDIS_PORT" "redis-cli not installed here"; fi
  if [[ "$MODE" == native ]]; then
    if [[ -x /usr/lib/rabbitmq/bin/rabbitmqctl ]]; then
      step "RabbitMQ (rabbitmqctl -q ping)" check_rabbitmq_native
    else
      skip "RabbitMQ node ping" "rabbitmqctl not installed here"
    fi
  elif compose_here; then
    step "RabbitMQ (rabbitmq-diagnostics -q ping)" check_rabbitmq_compose_exec
  else
    skip "RabbitMQ (rabbitmq-diagnostics)" "docker compose not reachable from here"
  fi
  step "RabbitMQ management API (aliveness-test)" check_rabbitmq_api
  for port in "${MONGO_PORTS[@]}"; do
    step "MongoDB wire :$port ({ping: 1})" check_mongo "$port"
  done
  step "OpenSearch :$SEARCH_PORT (_cluster/health)" check_opensearch
}

# ---- the story (fleetctl/story.py tells the same one in Python) --------------------------------

RUN_TAG=$(new_key | cut -c1-8)
USER_ID="system-user-$RUN_TAG"
SEATS=2
CAPACITY=100
PRICE=15000
EVENT_ID=""
SAGA_ID=""
RESERVATION_ID=""
PAYMENT_ID=""
VIP_EVENT_ID=""
VIP_SAGA_ID=""
VIP_AVAILABLE=""

services_ready() {
  local down=() name url
  for pair in event=$EVENT_URL reservation=$RESERVATION_URL payment=$PAYMENT_URL \
      analytics=$ANALYTICS_URL event_store=$EVENT_STORE_URL saga=$SAGA_URL notification=$NOTIFICATION_URL; do
    name=${pair%%=*}
    url=${pair#*=}
    http GET "$url/ready"
    [[ "$STATUS" == 200 ]] || down+=("$name($STATUS)")
  done
  if (( ${#down[@]} )); then DETAIL="not ready: ${down[*]}"; return 1; fi
  DETAIL="7/7 /ready 200"
}

create_event() {
  http POST "$EVENT_URL/api/events" "{\"name\": \"Concert Jazz $RUN_TAG\", \"description\": \"Soirée jazz\",
    \"eventDate\": \"$(future_date 60)\", \"location\": \"Dakar Arena\", \"category\": \"concert\",
    \"totalCapacity\": $CAPACITY, \"ticketPrice\": $PRICE}"
  expect 201 || return 1
  EVENT_ID=$(jv 'd.get("id")')
  [[ "$(jv 'd.get("bookedSeats")')" == 0 ]] || { DETAIL="new event not empty: $(short)"; return 1; }
  DETAIL="event $EVENT_ID, $CAPACITY seats ($(jv 'd.get("availableSeats")') bookable) at $(jv 'd.get("ticketPrice")') XOF"
}

# booking_json EVENT_ID SEATS PRICE USER
booking_json() {
  printf '{"eventId": %s, "userId": "%s", "userName": "Awa Ndiaye", "userEmail": "%s@example.sn", "userPhone": "+221770000000", "seats": %s, "ticketPrice": %s, "paymentMethod": "mobile_money"}' \
    "$1" "$4" "$4" "$2" "$3"
}

start_booking() {
  [[ -n "$EVENT_ID" ]] || { DETAIL="skipped: needs an event"; return 1; }
  http POST "$SAGA_URL/api/saga/booking" "$(booking_json "$EVENT_ID" "$SEATS" "$PRICE" "$USER_ID")"
  expect 202 || return 1
  SAGA_ID=$(jv 'd.get("sagaId")')
  [[ -n "$SAGA_ID" ]] || { DETAIL="no sagaId: $(short)"; return 1; }
  DETAIL="saga $SAGA_ID $(jv 'd.get("status")')"
}

POLL_SAGA=""
saga_ended() {
  # ?wait=5: a long poll, answered as soon as the saga ends
  http GET "$SAGA_URL/api/saga/$POLL_SAGA?wait=5"
  [[ "$STATUS" == 200 ]] && [[ "$(jv 'd.get("status")')" =~ ^(COMPLETED|COMPENSATED|COMPENSATION_FAILED)$ ]]
}

saga_completed() {
  [[ -n "$SAGA_ID" ]] || { DETAIL="skipped: needs a saga"; return 1; }
  POLL_SAGA=$SAGA_ID
  poll saga_ended "saga $SAGA_ID to end" || return 1
  local status; status=$(jv 'd.get("status")')
  [[ "$status" == COMPLETED ]] || { DETAIL="saga ended $status: $(short)"; return 1; }
  RESERVATION_ID=$(jv 'd.get("reservationId") or (d.get("context") or {}).get("reservationId")')
  PAYMENT_ID=$(jv 'd.get("paymentId") or (d.get("context") or {}).get("paymentId")')
  [[ -n "$RESERVATION_ID" && -n "$PAYMENT_ID" ]] || { DETAIL="no reservationId/paymentId: $(short)"; return 1; }
  DETAIL="reservation $RESERVATION_ID, payment $PAYMENT_ID"
}

seats_booked() {
  [[ -n "$RESERVATION_ID" ]] || { DETAIL="skipped: needs a completed saga"; return 1; }
  http GET "$EVENT_URL/api/events/$EVENT_ID"
  expect 200 || return 1
  [[ "$(jv 'd.get("bookedSeats")')" == "$SEATS" ]] || { DETAIL="bookedSeats not $SEATS: $(short)"; return 1; }
  DETAIL="bookedSeats $SEATS, availableSeats $(jv 'd.get("availableSeats")')"
}

reservation_confirmed() {
  [[ -n "$RESERVATION_ID" ]] || { DETAIL="skipped: needs a reservation"; return 1; }
  http GET "$RESERVATION_URL/api/reservations/$RESERVATION_ID"
  expect 200 || return 1
  [[ "$(jv 'd.get("status")')" == confirmed ]] || { DETAIL="status: $(jv 'd.get("status")')"; return 1; }
  local amount; amount=$(jv 'float(d["bookingDetails"]["totalAmount"])')
  [[ "$(python3 -c "print(float('$amount') == $PRICE * $SEATS)")" == True ]] \
    || { DETAIL="totalAmount $amount, expected $((PRICE * SEATS))"; return 1; }
  DETAIL="confirmed, totalAmount $amount"
}

payment_completed() {
  [[ -n "$PAYMENT_ID" ]] || { DETAIL="skipped: needs a payment"; return 1; }
  http GET "$PAYMENT_URL/api/payments/$PAYMENT_ID"
  expect 200 || return 1
  [[ "$(jv 'd.get("status")')" == completed ]] || { DETAIL="status: $(short)"; return 1; }
  DETAIL="completed, $(jv 'd.get("amount")') $(jv 'd.get("currency")')"
}

has_notification() {
  http GET "$NOTIFICATION_URL/api/notifications/user/$USER_ID"
  [[ "$STATUS" == 200 && "$(jv 'any(n.get("type") == "booking.confirmed" for n in items(d))')" == true ]]
}
notification_stored() {
  [[ -n "$RESERVATION_ID" ]] || { DETAIL="skipped: needs a completed saga"; return 1; }
  poll has_notification "a booking.confirmed notification for $USER_ID" || return 1
  DETAIL="$(jv 'len(items(d))') stored ($(jv '", ".join(sorted({str(n.get("type")) for n in items(d)}))'))"
}

analytics_caught_up() {
  http GET "$ANALYTICS_URL/api/analytics/events/$EVENT_ID"
  [[ "$STATUS" == 200 && "$(jv 'd.get("bookedSeats")')" == "$SEATS" ]]
}
analytics_occupancy() {
  [[ -n "$RESERVATION_ID" ]] || { DETAIL="skipped: needs a completed saga"; return 1; }
  poll analytics_caught_up "analytics to show $SEATS booked seats" || return 1
  local rate expected; rate=$(jv 'd.get("occupancyRate")')
  expected=$(python3 -c "print(round($SEATS / $CAPACITY * 100, 2))")
  [[ "$(python3 -c "print(abs(float('${rate:-nan}') - $expected) < 0.001)")" == True ]] \
    || { DETAIL="occupancyRate $rate, expected $expected"; return 1; }
  DETAIL="bookedSeats $SEATS, occupancyRate $rate %"
}

history_complete() {
  http GET "$EVENT_STORE_URL/api/aggregates/RESERVATION-$RESERVATION_ID/history"
  [[ "$STATUS" == 200 && "$(jv 'len(items(d))')" -ge 2 ]]
}
event_store_history() {
  [[ -n "$RESERVATION_ID" ]] || { DETAIL="skipped: needs a reservation"; return 1; }
  poll history_complete "RESERVATION-$RESERVATION_ID history" || return 1
  [[ "$(jv '[e.get("version") for e in items(d)] == list(range(1, len(items(d)) + 1))')" == true ]] \
    || { DETAIL="versions not 1..n: $(short)"; return 1; }
  DETAIL="RESERVATION-$RESERVATION_ID: $(jv '", ".join("v%s %s" % (e.get("version"), e.get("eventType") or e.get("type")) for e in items(d))')"
}

reconstruct_v1() {
  [[ -n "$RESERVATION_ID" ]] || { DETAIL="skipped: needs a reservation"; return 1; }
  http GET "$EVENT_STORE_URL/api/aggregates/RESERVATION-$RESERVATION_ID/reconstruct?toVersion=1"
  expect 200 || return 1
  local status; status=$(jv '(d.get("state") if isinstance(d.get("state"), dict) else d).get("status")')
  [[ "$status" == pending ]] || { DETAIL="state at version 1: $(short)"; return 1; }
  DETAIL="version 1: status pending"
}

CANCEL_SAGA_ID=""
cancel_booking() {
  [[ -n "$RESERVATION_ID" ]] || { DETAIL="skipped: needs a completed booking"; return 1; }
  http POST "$RESERVATION_URL/api/reservations/$RESERVATION_ID/cancel" '{"reason": "plans changed"}'
  expect 202 || return 1
  CANCEL_SAGA_ID=$(jv 'd.get("sagaId")')
  [[ -n "$CANCEL_SAGA_ID" ]] || { DETAIL="no sagaId: $(short)"; return 1; }
  DETAIL="cancellation saga $CANCEL_SAGA_ID"
}

cancellation_completed() {
  [[ -n "$CANCEL_SAGA_ID" ]] || { DETAIL="skipped: needs a cancellation saga"; return 1; }
  POLL_SAGA=$CANCEL_SAGA_ID
  poll saga_ended "cancellation saga $CANCEL_SAGA_ID to end" || return 1
  local status; status=$(jv 'd.get("status")')
  [[ "$status" == COMPLETED ]] || { DETAIL="cancellation ended $status: $(short)"; return 1; }
  DETAIL="$(jv '" -> ".join(s["name"] for s in d.get("steps", []))')"
}

cancellation_settled() {
  [[ -n "$CANCEL_SAGA_ID" ]] || { DETAIL="skipped: needs a cancellation"; return 1; }
  http GET "$EVENT_URL/api/events/$EVENT_ID"
  [[ "$(jv 'd.get("bookedSeats")')" == 0 ]] || { DETAIL="bookedSeats not 0: $(short)"; return 1; }
  http GET "$PAYMENT_URL/api/payments/$PAYMENT_ID"
  [[ "$(jv 'd.get("status")')" == refunded ]] || { DETAIL="payment not refunded: $(short)"; return 1; }
  http GET "$RESERVATION_URL/api/reservations/$RESERVATION_ID"
  [[ "$(jv 'd.get("status")')" == cancelled ]] || { DETAIL="reservation not cancelled: $(short)"; return 1; }
  DETAIL="bookedSeats 0, payment $PAYMENT_ID refunded, reservation cancelled"
}

has_cancellation_notice() {
  http GET "$NOTIFICATION_URL/api/notifications/user/$USER_ID"
  [[ "$STATUS" == 200 && "$(jv 'any(n.get("type") == "booking.cancelled" for n in items(d))')" == true ]]
}
cancellation_told() {
  [[ -n "$CANCEL_SAGA_ID" ]] || { DETAIL="skipped: needs a cancellation"; return 1; }
  poll has_cancellation_notice "a booking.cancelled notification for $USER_ID" || return 1
  DETAIL="$(jv '[n.get("subject") for n in items(d) if n.get("type") == "booking.cancelled"][0]')"
}

analytics_dropped() {
  http GET "$ANALYTICS_URL/api/analytics/events/$EVENT_ID"
  [[ "$STATUS" == 200 && "$(jv 'd.get("bookedSeats")')" == 0 && "$(jv 'd.get("confirmedReservations")')" == 0 ]]
}
analytics_after_cancellation() {
  [[ -n "$CANCEL_SAGA_ID" ]] || { DETAIL="skipped: needs a cancellation"; return 1; }
  poll analytics_dropped "analytics to drop the cancelled booking" || return 1
  DETAIL="bookedSeats 0, revenue $(jv 'd.get("revenue")')"
}

create_vip_event() {
  http POST "$EVENT_URL/api/events" "{\"name\": \"Gala VIP $RUN_TAG\", \"description\": \"Dîner de gala\",
    \"eventDate\": \"$(future_date 90)\", \"location\": \"King Fahd Palace, Dakar\", \"category\": \"gala\",
    \"totalCapacity\": 50, \"ticketPrice\": 600000}"
  expect 201 || return 1
  VIP_EVENT_ID=$(jv 'd.get("id")')
  VIP_AVAILABLE=$(jv 'd.get("availableSeats")')
  DETAIL="event $VIP_EVENT_ID, 2 x 600000 XOF > $DECLINE_ABOVE"
}

vip_compensated() {
  [[ -n "$VIP_EVENT_ID" ]] || { DETAIL="skipped: needs the high-priced event"; return 1; }
  http POST "$SAGA_URL/api/saga/booking" "$(booking_json "$VIP_EVENT_ID" 2 600000 "$USER_ID-vip")"
  expect 202 || return 1
  VIP_SAGA_ID=$(jv 'd.get("sagaId")')
  POLL_SAGA=$VIP_SAGA_ID
  poll saga_ended "saga $VIP_SAGA_ID to end" || return 1
  local status; status=$(jv 'd.get("status")')
  [[ "$status" == COMPENSATED ]] || { DETAIL="saga ended $status: $(short)"; return 1; }
  DETAIL="saga $VIP_SAGA_ID COMPENSATED: $(jv 'str(d.get("error") or d.get("reason") or "")[:80]')"
}

vip_seats_back() {
  [[ -n "$VIP_SAGA_ID" ]] || { DETAIL="skipped: needs the declined saga"; return 1; }
  http GET "$EVENT_URL/api/events/$VIP_EVENT_ID"
  expect 200 || return 1
  [[ "$(jv 'd.get("bookedSeats")')" == 0 && "$(jv 'd.get("availableSeats")')" == "$VIP_AVAILABLE" ]] \
    || { DETAIL="seats not given back: $(short)"; return 1; }
  DETAIL="bookedSeats 0, availableSeats $(jv 'd.get("availableSeats")')"
}

# ---- the handout's commands, mapped (docs/handout.md) ---------------------------------------
# Each command of the guide that differs from the course handout, run against this fleet: the
# handout's own inputs where they now fail (and how), then the native database shells.

INFRA="$ROOT/scripts/infra.sh"
OUT=""
# tool ARGS...: runs `scripts/infra.sh ARGS` (a database shell), its output (stdout and stderr) in OUT.
# shell TOOL ARGS...: a database shell, as docs/handout.md types it. Natively infra.sh's
# (`infra.sh psql events …`); with --compose the handout's `docker exec <container> …`, on the
# compose file's roles and databases (EVENTS_DB_USER, … as in .env).
shell() {
  [[ "$MODE" == compose ]] || { "$INFRA" "$@"; return; }
  local what=$1 container user db
  shift
  case "$what" in
    psql)
      case "$1" in
        events) container=postgres-events user=${EVENTS_DB_USER:-events_user} db=${EVENTS_DB_NAME:-events_db} ;;
        payments) container=postgres-payments user=${PAYMENTS_DB_USER:-payments_user} db=${PAYMENTS_DB_NAME:-payments_db} ;;
        sagas) container=postgres-sagas user=${SAGAS_DB_USER:-sagas_user} db=${SAGAS_DB_NAME:-sagas_db} ;;
      esac
      shift
      docker exec -i "$container" psql -U "$user" -d "$db" "$@"
      ;;
    mongosh)
      case "$1" in
        reservations) container=mongo-reservations db=reservations_db ;;
        event_store) container=mongo-event-store db=event_store_db ;;
        notifications) container=mongo-notifications db=notifications_db ;;
      esac
      shift
      # A piped script runs as with --eval, as infra.sh does (mongosh would echo a prompt).
      if [[ ! -t 0 ]] && ! printf '%s\n' "$@" | grep -q -- '^--eval'; then
        set -- "$@" --eval "$(cat)"
      fi
      docker exec -i "$container" mongosh "$db" "$@" </dev/null
      ;;
    redis-cli) docker exec -i redis-cache redis-cli "$@" ;;
    rabbitmqctl) docker exec -i rabbitmq rabbitmqctl "$@" ;;
  esac
}
tool() { OUT=$(shell "$@" 2>&1); }
tool_fails() { DETAIL="$* -> $(printf '%s' "$OUT" | tr '\n' ' ' | cut -c1-200)"; return 1; }

handout_past_date() {
  http POST "$EVENT_URL/api/events" '{"name": "Concert Jazz", "description": "Soirée jazz", "eventDate": "2025-12-25T20:00:00",
    "location": "Dakar Arena", "category": "concert", "totalCapacity": 500, "ticketPrice": 15000}'
  expect 422 || return 1
  [[ "$(jv '[e.get("field") for e in d.get("errors", [])]')" == '["eventDate"]' ]] \
    || { DETAIL="422 without eventDate named: $(short)"; return 1; }
  DETAIL="422: $(jv 'd["errors"][0]["field"] + " " + d["errors"][0]["message"]')"
}

handout_unknown_event() {
  http POST "$SAGA_URL/api/saga/booking" "$(booking_json 999999999 2 15000 "$USER_ID")"
  expect 404 || return 1
  [[ "$(jv '[e.get("field") for e in d.get("errors", [])]')" == '["eventId"]' ]] \
    || { DETAIL="404 without eventId named: $(short)"; return 1; }
  DETAIL="404: $(jv 'd.get("detail")')"
}

handout_other_price() {
  [[ -n "$EVENT_ID" ]] || { DETAIL="skipped: needs an event"; return 1; }
  http POST "$SAGA_URL/api/saga/booking" "$(booking_json "$EVENT_ID" 2 14000 "$USER_ID")"
  expect 409 || return 1
  [[ "$(jv '[e.get("field") for e in d.get("errors", [])]')" == '["ticketPrice"]' ]] \
    || { DETAIL="409 without ticketPrice named: $(short)"; return 1; }
  DETAIL="409: $(jv 'd.get("detail")')"
}

handout_reservation_123() {
  http GET "$EVENT_STORE_URL/api/aggregates/RESERVATION-123/history"
  expect 404 || return 1
  DETAIL="404: $(jv 'd.get("detail")')"
}

handout_to_version_5() {
  [[ -n "$RESERVATION_ID" ]] || { DETAIL="skipped: needs a reservation"; return 1; }
  http GET "$EVENT_STORE_URL/api/aggregates/RESERVATION-$RESERVATION_ID/reconstruct?toVersion=5"
  expect 200 || return 1
  local version latest; version=$(jv 'd.get("version")'); latest=$(jv 'd.get("latestVersion")')
  [[ -n "$latest" && "$version" == "$latest" && "$latest" -lt 5 ]] \
    || { DETAIL="expected to stop at the latest version: $(short)"; return 1; }
  DETAIL="folds to version $version (latestVersion $latest), status $(jv 'd["state"].get("status")')"
}

handout_opensearch() {
  [[ -n "$RESERVATION_ID" ]] || { DETAIL="skipped: needs a completed saga"; return 1; }
  # The event's seats as its service counts them now (the story cancelled the booking).
  http GET "$EVENT_URL/api/events/$EVENT_ID"
  expect 200 || return 1
  local booked; booked=$(jv 'd.get("bookedSeats")')
  http GET "http://$ENGINE_HOST:$SEARCH_PORT/${ANALYTICS_INDEX:-event_analytics}/_search?q=eventId:$EVENT_ID"
  expect 200 || return 1
  [[ "$(jv 'd["hits"]["hits"][0]["_source"]["bookedSeats"]')" == "$booked" ]] \
    || { DETAIL="no document with bookedSeats $booked: $(short)"; return 1; }
  DETAIL="${ANALYTICS_INDEX:-event_analytics}/_search?q=eventId:$EVENT_ID -> bookedSeats $booked"
}

handout_rabbitmqctl() {
  tool rabbitmqctl -q list_queues name messages || { tool_fails rabbitmqctl list_queues; return 1; }
  grep -q '^analytics\.projection\b' <<<"$OUT" || { tool_fails "rabbitmqctl list_queues (no analytics.projection)"; return 1; }
  DETAIL="$(grep -c . <<<"$OUT") queues, analytics.projection among them"
}

# The handout's `docker ps`: the compose fleet's containers, each running and, where it has a
# health check (all of them do), healthy.
handout_docker_ps() {
  local names=(postgres-events postgres-payments postgres-sagas mongo-reservations mongo-event-store
    mongo-notifications redis-cache opensearch rabbitmq event-service reservation-service payment-service
    analytics-service event-store-service saga-orchestrator notification-service console)
  OUT=$(docker ps --format '{{.Names}} {{.Status}}' 2>&1) || { tool_fails docker ps; return 1; }
  local missing=() name
  for name in "${names[@]}"; do
    grep -q "^$name Up .*(healthy)" <<<"$OUT" || missing+=("$name")
  done
  (( ${#missing[@]} == 0 )) || { DETAIL="not up and healthy: ${missing[*]}"; return 1; }
  DETAIL="${#names[@]} containers up (healthy)"
}

handout_infra_status() {
  tool status || { tool_fails infra.sh status; return 1; }
  DETAIL="$(tr -s ' \n' ' ' <<<"$OUT")"
}

handout_fleet() {
  [[ -x "$ROOT/.venv/bin/fleet" ]] || { DETAIL="no .venv/bin/fleet (scripts/bootstrap.sh)"; return 1; }
  # On a running fleet `fleet start` leaves the service alone: the command, harmless here.
  OUT=$("$ROOT/.venv/bin/fleet" start event_service 2>&1) || { tool_fails fleet start event_service; return 1; }
  # (in the locale's language: fleetctl/messages.py)
  grep -qE 'event_service .*(already running|déjà en marche)' <<<"$OUT" || { tool_fails fleet start event_service; return 1; }
  OUT=$("$ROOT/.venv/bin/fleet" status 2>&1) || { tool_fails fleet status; return 1; }
  DETAIL="fleet start event_service: already running; fleet status: the seven ready"
}

# The database shells show what the services answer now (the story cancelled the booking).
psql_events() {
  [[ -n "$RESERVATION_ID" ]] || { DETAIL="skipped: needs a completed saga"; return 1; }
  http GET "$EVENT_URL/api/events/$EVENT_ID"
  expect 200 || return 1
  local answered; answered="$(jv 'd.get("bookedSeats")')|$(jv 'd.get("version")')"
  tool psql events -Atc "select booked_seats, version from events where id = $EVENT_ID" || { tool_fails psql events; return 1; }
  [[ "$OUT" == "$answered" ]] || { tool_fails "psql events (the API answers $answered)"; return 1; }
  DETAIL="events row $EVENT_ID: booked_seats|version = $OUT, as the API answers"
}

psql_payments() {
  [[ -n "$PAYMENT_ID" ]] || { DETAIL="skipped: needs a payment"; return 1; }
  http GET "$PAYMENT_URL/api/payments/$PAYMENT_ID"
  expect 200 || return 1
  local status; status=$(jv 'd.get("status")')
  tool psql payments -Atc "select status, amount, currency from payments where id = $PAYMENT_ID" || { tool_fails psql payments; return 1; }
  [[ "$OUT" == "$status|$((PRICE * SEATS)).00|XOF" ]] || { tool_fails "psql payments (the API answers $status)"; return 1; }
  DETAIL="payments row $PAYMENT_ID: $OUT"
}

psql_sagas() {
  [[ -n "$SAGA_ID" ]] || { DETAIL="skipped: needs a saga"; return 1; }
  # stdin, as a script would pipe it
  OUT=$(printf "select status from sagas where id = '%s';\nselect string_agg(name, ',' order by id) from saga_steps where saga_id = '%s';\n" \
    "$SAGA_ID" "$SAGA_ID" | shell psql sagas -At 2>&1) || { tool_fails psql sagas; return 1; }
  [[ "$OUT" == $'COMPLETED\nRESERVE_SEATS,CREATE_RESERVATION,PROCESS_PAYMENT,CONFIRM_RESERVATION' ]] \
    || { tool_fails "psql sagas"; return 1; }
  DETAIL="saga log: $(tr '\n' ' ' <<<"$OUT")"
}

mongosh_reservations() {
  [[ -n "$RESERVATION_ID" ]] || { DETAIL="skipped: needs a reservation"; return 1; }
  http GET "$RESERVATION_URL/api/reservations/$RESERVATION_ID"
  expect 200 || return 1
  local answered; answered="$(jv 'd.get("status")') $(jv 'len(d.get("timeline") or [])')"
  tool mongosh reservations --quiet --eval \
    "const r = db.reservations.findOne({_id: ObjectId('$RESERVATION_ID')}); print(r.status, r.timeline.length)" \
    || { tool_fails mongosh reservations; return 1; }
  [[ "$OUT" == "$answered" ]] || { tool_fails "mongosh reservations (the API answers $answered)"; return 1; }
  DETAIL="reservation $RESERVATION_ID: status and timeline entries $OUT, as the API answers"
}

mongosh_event_store() {
  [[ -n "$RESERVATION_ID" ]] || { DETAIL="skipped: needs a reservation"; return 1; }
  # stdin, as a script would pipe it
  OUT=$(printf "db.events.find({aggregateId: 'RESERVATION-%s'}).sort({version: 1}).toArray().map(e => e.version + ':' + e.eventType).join(' ')\n" \
    "$RESERVATION_ID" | shell mongosh event_store --quiet 2>&1) || { tool_fails mongosh event_store; return 1; }
  grep -q "1:reservation.created 2:reservation.confirmed" <<<"$OUT" || { tool_fails "mongosh event_store"; return 1; }
  DETAIL="RESERVATION-$RESERVATION_ID: $(tr '\n' ' ' <<<"$OUT")"
}

mongosh_notifications() {
  [[ -n "$RESERVATION_ID" ]] || { DETAIL="skipped: needs a completed saga"; return 1; }
  tool mongosh notifications --quiet --eval "db.notifications.countDocuments({userId: '$USER_ID', type: 'booking.confirmed'})" \
    || { tool_fails mongosh notifications; return 1; }
  [[ "$OUT" == 1 ]] || { tool_fails "mongosh notifications"; return 1; }
  DETAIL="1 booking.confirmed notification for $USER_ID"
}

redis_cli_payment() {
  [[ -n "$PAYMENT_ID" ]] || { DETAIL="skipped: needs a payment"; return 1; }
  # a read fills the cache (cache-aside), then the key is there with its TTL
  http GET "$PAYMENT_URL/api/payments/$PAYMENT_ID"
  expect 200 || return 1
  tool redis-cli get "payment:$PAYMENT_ID" || { tool_fails redis-cli get; return 1; }
  local status; status=$(jv 'd.get("status")')
  [[ "$(BODY=$OUT jv 'd.get("status")')" == "$status" ]] || { tool_fails "redis-cli get payment:$PAYMENT_ID (the API answers $status)"; return 1; }
  tool redis-cli --scan --pattern "payment:$PAYMENT_ID" || { tool_fails redis-cli --scan; return 1; }
  [[ "$OUT" == "payment:$PAYMENT_ID" ]] || { tool_fails "redis-cli --scan --pattern payment:$PAYMENT_ID"; return 1; }
  tool redis-cli ttl "payment:$PAYMENT_ID" || { tool_fails redis-cli ttl; return 1; }
  (( OUT > 0 && OUT <= 3600 )) || { tool_fails "redis-cli ttl payment:$PAYMENT_ID"; return 1; }
  DETAIL="payment:$PAYMENT_ID cached, status $status, ttl $OUT s"
}

started=$(now_ms)
check_engines
echo "services:"
step "the seven services are ready" services_ready
echo "the booking story: a booking that completes"
step "create an event (future date)" create_event
step "book through the saga: 202 Accepted" start_booking
step "saga COMPLETED" saga_completed
step "event seats booked" seats_booked
step "reservation confirmed" reservation_confirmed
step "payment completed" payment_completed
step "notification stored for the user" notification_stored
step "analytics shows the occupancy" analytics_occupancy
step "event store history of the reservation" event_store_history
step "event store reconstructs version 1 (pending)" reconstruct_v1
echo "... the customer cancels it (a cancellation saga)"
step "cancel it: a cancellation saga starts (202)" cancel_booking
step "cancellation saga COMPLETED" cancellation_completed
step "seats released, payment refunded" cancellation_settled
step "notification of the cancellation" cancellation_told
step "analytics without the cancelled seats" analytics_after_cancellation
echo "... and one the payment provider declines"
step "create a high-priced event" create_vip_event
step "book above the decline limit: saga COMPENSATED" vip_compensated
step "declined booking gave its seats back" vip_seats_back
echo "the handout's commands, mapped (docs/handout.md)"
step "handout's date 2025-12-25: 422 naming eventDate" handout_past_date
step "handout's eventId, no such event: 404 naming eventId" handout_unknown_event
step "handout's eventId, another event's price: 409" handout_other_price
step "handout's RESERVATION-123: 404" handout_reservation_123
step "handout's toVersion=5: folds to the last version" handout_to_version_5
step "OpenSearch in place of Elasticsearch" handout_opensearch
if [[ "$MODE" == native && "${SKIP_ENGINES:-0}" != 1 ]]; then
  step "infra.sh status: every engine up" handout_infra_status
  step "infra.sh rabbitmqctl list_queues" handout_rabbitmqctl
  if [[ "$EVENT_URL" == "http://127.0.0.1:8080" ]]; then
    step "fleet start event_service / fleet status" handout_fleet
  else
    skip "fleet start event_service / fleet status" "fleet manages the default ports; EVENT_URL is $EVENT_URL"
  fi
  step "infra.sh psql events" psql_events
  step "infra.sh psql payments" psql_payments
  step "infra.sh psql sagas (stdin): the durable saga log" psql_sagas
  step "infra.sh mongosh reservations" mongosh_reservations
  step "infra.sh mongosh event_store (stdin)" mongosh_event_store
  step "infra.sh mongosh notifications" mongosh_notifications
  step "infra.sh redis-cli get/--scan/ttl payment:<id>" redis_cli_payment
elif [[ "$MODE" == compose ]] && compose_here; then
  step "docker ps: every container healthy" handout_docker_ps
  step "docker exec rabbitmq rabbitmqctl list_queues" handout_rabbitmqctl
  step "docker exec postgres-events psql -U ${EVENTS_DB_USER:-events_user}" psql_events
  step "docker exec postgres-payments psql" psql_payments
  step "docker exec postgres-sagas psql (stdin): the saga log" psql_sagas
  step "docker exec mongo-reservations mongosh" mongosh_reservations
  step "docker exec mongo-event-store mongosh (stdin)" mongosh_event_store
  step "docker exec mongo-notifications mongosh" mongosh_notifications
  step "docker exec redis-cache redis-cli get/--scan/ttl" redis_cli_payment
else
  skip "database shells" "native: SKIP_ENGINES=1; compose: the containers are not on this Docker engine"
fi

echo
summary="$PASSED passed, $FAILED failed"
(( SKIPPED )) && summary+=", $SKIPPED skipped"
echo "$summary ($(( ($(now_ms) - started) / 1000 )) s)"
(( FAILED == 0 ))
