#!/usr/bin/env bash
# System test against a RUNNING fleet (native: scripts/start-dev.sh, or docker compose up):
# checks each engine with its own protocol, then tells the booking story over HTTP (the same
# steps as `fleet demo` and tests/e2e/test_story_fleet.py, see fleetctl/story.py) and prints
# ✓/✗ per step with its time, then "N passed, M failed". Exits non-zero on any failure.
#
#   scripts/test-system.sh             native fleet on 127.0.0.1 (engines checked with the
#                                      project's own tools: pg_isready, redis-cli, rabbitmqctl)
#   scripts/test-system.sh --compose   docker compose fleet (engines checked through
#                                      `docker compose exec` when docker is here, else over
#                                      their published ports; missing tools are skipped: ○)
#
# Environment: TEST_HOST (default 127.0.0.1) for every service URL, or one by one EVENT_URL,
# RESERVATION_URL, PAYMENT_URL, ANALYTICS_URL, EVENT_STORE_URL, SAGA_URL, NOTIFICATION_URL;
# ENGINE_HOST (default 127.0.0.1); SKIP_ENGINES=1 skips the engine checks; STORY_DEADLINE
# seconds to wait for a saga or a message (default 30); RABBITMQ_USER/RABBITMQ_PASSWORD for the
# management API (default guest/guest). Needs bash, curl and python3 (standard library only).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE=native
[[ "${1:-}" == "--compose" ]] && MODE=compose
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { sed -n '2,18p' "$0"; exit 0; }

HOST="${TEST_HOST:-127.0.0.1}"
ENGINE_HOST="${ENGINE_HOST:-127.0.0.1}"
EVENT_URL="${EVENT_URL:-http://$HOST:8080}"
RESERVATION_URL="${RESERVATION_URL:-http://$HOST:3000}"
PAYMENT_URL="${PAYMENT_URL:-http://$HOST:5000}"
ANALYTICS_URL="${ANALYTICS_URL:-http://$HOST:8081}"
EVENT_STORE_URL="${EVENT_STORE_URL:-http://$HOST:3001}"
SAGA_URL="${SAGA_URL:-http://$HOST:3002}"
NOTIFICATION_URL="${NOTIFICATION_URL:-http://$HOST:5001}"
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

# step NAME FUNCTION: runs FUNCTION (which sets DETAIL), prints ✓/✗ with its time.
step() {
  local name=$1 fn=$2 started ms
  DETAIL=""
  started=$(now_ms)
  if "$fn"; then
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
compose_here() { have docker && docker compose ps --status running -q >/dev/null 2>&1 && [[ -n "$(docker compose ps -q 2>/dev/null)" ]]; }

check_postgres() {
  local port=$1
  DETAIL="$(pg_isready -h "$ENGINE_HOST" -p "$port" 2>&1)"
}
check_postgres_5432() { check_postgres 5432; }
check_postgres_5433() { check_postgres 5433; }
check_postgres_5434() { check_postgres 5434; }
check_redis() {
  local answer
  answer="$(redis-cli -h "$ENGINE_HOST" -p 6379 ping 2>&1)"
  DETAIL="redis-cli ping: $answer"
  [[ "$answer" == "PONG" ]]
}
check_rabbitmq_native() {
  DETAIL="$("$ROOT/scripts/infra.sh" rabbitmqctl -q ping 2>&1 | tr '\n' ' ')"
  "$ROOT/scripts/infra.sh" rabbitmqctl -q ping >/dev/null 2>&1
}
check_rabbitmq_compose_exec() {
  docker compose exec -T rabbitmq rabbitmq-diagnostics -q ping >/dev/null 2>&1 \
    && DETAIL="rabbitmq-diagnostics -q ping (in its container): ok"
}
check_rabbitmq_api() {
  http GET "http://$RABBIT_AUTH@$ENGINE_HOST:15672/api/aliveness-test/%2F"
  expect 200 || return 1
  [[ "$(jv 'd.get("status")')" == "ok" ]] || { DETAIL="aliveness: $(short)"; return 1; }
  DETAIL="management API aliveness-test: ok"
}
check_mongo() {
  local port=$1
  DETAIL="mongo_ping.py $ENGINE_HOST $port"
  python3 "$ROOT/scripts/mongo_ping.py" "$ENGINE_HOST" "$port" && DETAIL="{ping: 1} -> ok: 1 on $port"
}
check_mongo_27017() { check_mongo 27017; }
check_mongo_27018() { check_mongo 27018; }
check_mongo_27019() { check_mongo 27019; }
check_opensearch() {
  http GET "http://$ENGINE_HOST:9200/_cluster/health?wait_for_status=yellow&timeout=5s"
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
  local pg_ports=(5432) mongo_ports=(27017)
  if [[ "$MODE" == compose ]]; then
    pg_ports=(5432 5433 5434)
    mongo_ports=(27017 27018 27019)
  fi
  for port in "${pg_ports[@]}"; do
    if have pg_isready; then step "PostgreSQL :$port (pg_isready)" "check_postgres_$port"
    else skip "PostgreSQL :$port" "pg_isready not installed here"; fi
  done
  if have redis-cli; then step "Redis :6379 (redis-cli ping)" check_redis
  else skip "Redis :6379" "redis-cli not installed here"; fi
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
  for port in "${mongo_ports[@]}"; do
    step "MongoDB wire :$port ({ping: 1})" "check_mongo_$port"
  done
  step "OpenSearch :9200 (_cluster/health)" check_opensearch
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
  [[ "$STATUS" == 200 && "$(jv 'any(n.get("type") == "booking_confirmed" for n in items(d))')" == true ]]
}
notification_stored() {
  [[ -n "$RESERVATION_ID" ]] || { DETAIL="skipped: needs a completed saga"; return 1; }
  poll has_notification "a booking_confirmed notification for $USER_ID" || return 1
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
echo "... and one the payment provider declines"
step "create a high-priced event" create_vip_event
step "book above the decline limit: saga COMPENSATED" vip_compensated
step "declined booking gave its seats back" vip_seats_back

echo
summary="$PASSED passed, $FAILED failed"
(( SKIPPED )) && summary+=", $SKIPPED skipped"
echo "$summary ($(( ($(now_ms) - started) / 1000 )) s)"
(( FAILED == 0 ))
