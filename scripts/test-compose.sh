#!/usr/bin/env bash
# The class's route, end to end, on this machine: `docker-compose up -d`, every container
# healthy, the booking story (scripts/test-system.sh --compose, then `fleet demo`), the
# handout's commands pasted as the handout types them, `docker-compose down -v`.
#
#   scripts/test-compose.sh            the whole route (CI runs this after the main suite)
#   scripts/test-compose.sh --quick    the same without `fleet demo` (test-system.sh already
#                                      tells the same story), for a tighter CI budget
#
# On a fresh machine it installs what it needs (apt: docker.io, docker-compose, debootstrap).
# If no Docker engine answers, it starts `dockerd --storage-driver=overlay2` in the background
# and, at the end, stops it by its pid and removes what dockerd leaves behind: its iptables
# chains (DOCKER*, filter and nat) and the FORWARD policy, the docker0 link, and
# net.ipv4.ip_forward as it was.
# Images: the stand-ins of scripts/compose-images.sh (this machine reaches no image registry),
# reused by content hash; TP4_COMPOSE_UPSTREAM=1 keeps the upstream images instead.
#
# It never touches a native fleet or a student's compose fleet: it runs on a copy of the
# checkout (so its .env, its project name tp4-compose-test and its volumes are its own), and
# its host ports are free ones from TP4_COMPOSE_PORT_BASE (default 62000: above Linux's
# ephemeral range 32768-60999, and above the ports of isolated test fleets, 13000-32690). It
# refuses to start while containers named like the fleet's exist (the handout's names are
# fixed: one compose fleet per Docker engine). Exits non-zero on any failure.
set -uo pipefail

# All of it in one function: bash reads a script as it runs, so an edit to this file during a
# run would otherwise change the rest of that run.
main() {
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK=0
[[ "${1:-}" == "--quick" ]] && QUICK=1
[[ "${1:-}" == "-h" || "${1:-}" == "--help" ]] && { sed -n '2,22p' "$0"; exit 0; }

COMPOSE="${COMPOSE:-docker-compose}"
PROJECT=tp4-compose-test
CONTAINERS=(postgres-events postgres-payments postgres-sagas mongo-reservations mongo-event-store
  mongo-notifications redis-cache opensearch rabbitmq zipkin event-service reservation-service payment-service
  analytics-service event-store-service saga-orchestrator notification-service console)

T0=$SECONDS
FAILED=0
PASSED=0
FAILURES=()
log() { printf '[test-compose] %s\n' "$*" >&2; }
phase() { printf '[test-compose] %-58s %4s s\n' "$1" "$(( SECONDS - $2 ))" >&2; }
ok() { PASSED=$((PASSED + 1)); printf '  ✓ %s\n' "$*"; }
ko() { FAILED=$((FAILED + 1)); FAILURES+=("$1"); printf '  ✗ %s\n' "$*"; }
# check NAME COMMAND...: one pasted command; its output is shown when it fails.
check() {
  local name=$1 out t=$SECONDS
  shift
  if out=$("$@" 2>&1); then ok "$name ($(( SECONDS - t )) s)"
  else ko "$name ($(( SECONDS - t )) s)"; printf '%s\n' "$out" | tail -n 15 | sed 's/^/      /'; fi
}

# ---- tools -------------------------------------------------------------------------------------
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v debootstrap >/dev/null || need+=(debootstrap)
if (( ${#need[@]} )); then
  t=$SECONDS
  log "installing ${need[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } >/tmp/test-compose-apt.log 2>&1 \
    || { log "apt-get failed, see /tmp/test-compose-apt.log"; exit 1; }
  phase "apt-get install ${need[*]}" "$t"
fi

# ---- the Docker engine: the one that answers, else ours, stopped at the end -----------------------
DOCKERD_PID=""
IP_FORWARD_BEFORE=""
FORWARD_POLICY_BEFORE=""
LINKS_BEFORE=""
stop_dockerd() {
  [[ -n "$DOCKERD_PID" ]] || return 0
  local i table chain rule
  log "stopping dockerd (pid $DOCKERD_PID)"
  kill -TERM "$DOCKERD_PID" 2>/dev/null
  for (( i = 0; i < 100; i++ )); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.3; done
  kill -0 "$DOCKERD_PID" 2>/dev/null && { log "dockerd still up after 30 s: KILL"; kill -KILL "$DOCKERD_PID"; }
  # What dockerd leaves: its chains and the rules that jump to them or masquerade its bridges.
  for table in filter nat; do
    iptables -t "$table" -S 2>/dev/null | grep -E '^-A ' | grep -E 'DOCKER|docker0|br-[0-9a-f]{12}' \
      | grep -vE '^-A DOCKER' | while IFS= read -r rule; do
        # shellcheck disable=SC2086
        iptables -t "$table" ${rule/-A/-D} 2>/dev/null
      done
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^DOCKER/ {print $2}'); do
      iptables -t "$table" -F "$chain" 2>/dev/null
    done
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^DOCKER/ {print $2}'); do
      iptables -t "$table" -X "$chain" 2>/dev/null
    done
  done
  local link
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^(docker0|br-[0-9a-f]{12}|veth)'); do
    grep -qx "$link" <<<"$LINKS_BEFORE" || ip link delete "$link" 2>/dev/null
  done
  [[ -n "$IP_FORWARD_BEFORE" ]] && sysctl -q -w "net.ipv4.ip_forward=$IP_FORWARD_BEFORE" >/dev/null
  # dockerd turns the FORWARD policy to DROP when it enables forwarding.
  [[ -n "$FORWARD_POLICY_BEFORE" ]] && iptables -P FORWARD "$FORWARD_POLICY_BEFORE" 2>/dev/null
  DOCKERD_PID=""
}

if ! docker info >/dev/null 2>&1; then
  t=$SECONDS
  IP_FORWARD_BEFORE=$(cat /proc/sys/net/ipv4/ip_forward)
  FORWARD_POLICY_BEFORE=$(iptables -S FORWARD 2>/dev/null | awk '$1 == "-P" {print $3}')
  LINKS_BEFORE=$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1)
  dockerd --storage-driver=overlay2 >/tmp/test-compose-dockerd.log 2>&1 &
  DOCKERD_PID=$!
  for (( i = 0; i < 100; i++ )); do docker info >/dev/null 2>&1 && break; sleep 0.3; done
  docker info >/dev/null 2>&1 || { log "dockerd did not answer, see /tmp/test-compose-dockerd.log"; stop_dockerd; exit 1; }
  phase "dockerd started (pid $DOCKERD_PID, data in /var/lib/docker)" "$t"
fi

WORK=$(mktemp -d /tmp/tp4-compose-test.XXXXXX)
finish() {
  local rc=$?
  if [[ -f "$WORK/tp4/.env" ]] && docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" | grep -q .; then
    log "removing what is left of the test fleet (down -v)"
    (cd "$WORK/tp4" && $COMPOSE down -v --remove-orphans >/dev/null 2>&1)
  fi
  stop_dockerd
  rm -rf "$WORK"
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

# A client newer than the daemon (Docker 28's CLI on Debian's 20.10 dockerd) negotiates down
# by itself; docker-compose v1 (docker-py) does too. Show both, for the log.
log "docker: client $(docker version -f '{{.Client.Version}}' 2>/dev/null), engine $(docker version -f '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null); $($COMPOSE version --short 2>/dev/null || $COMPOSE version | head -1)"

for name in "${CONTAINERS[@]}"; do
  if docker inspect "$name" >/dev/null 2>&1; then
    log "a container named $name exists already (a compose fleet is up on this Docker engine: docker-compose down first)"
    exit 1
  fi
done

# ---- images -----------------------------------------------------------------------------------------
IMAGE_LINES=""
if [[ "${TP4_COMPOSE_UPSTREAM:-0}" != 1 ]]; then
  t=$SECONDS
  IMAGE_LINES=$("$ROOT/scripts/compose-images.sh") || { log "building the stand-in images failed"; exit 1; }
  phase "stand-in images ready (scripts/compose-images.sh)" "$t"
fi

# ---- a copy of the checkout with its own .env ----------------------------------------------------------
mkdir -p "$WORK/tp4"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - 2>/dev/null) | tar -xf - -C "$WORK/tp4"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT_VARS=(PORT_EVENT_SERVICE PORT_RESERVATION_SERVICE PORT_PAYMENT_SERVICE PORT_ANALYTICS_SERVICE
  PORT_EVENT_STORE_SERVICE PORT_SAGA_ORCHESTRATOR PORT_NOTIFICATION_SERVICE PORT_CONSOLE
  PORT_POSTGRES_EVENTS PORT_POSTGRES_PAYMENTS PORT_POSTGRES_SAGAS PORT_MONGO_RESERVATIONS
  PORT_MONGO_EVENT_STORE PORT_MONGO_NOTIFICATIONS PORT_REDIS_CACHE PORT_OPENSEARCH PORT_RABBITMQ
  PORT_RABBITMQ_UI PORT_ZIPKIN)
base=${TP4_COMPOSE_PORT_BASE:-62000}
for (( tries = 0; tries < 20; tries++ )); do
  all_free=1
  for (( i = 0; i < ${#PORT_VARS[@]}; i++ )); do port_free $((base + i)) || { all_free=0; break; }; done
  (( all_free )) && break
  base=$((base + 100))
done
(( all_free )) || { log "no block of ${#PORT_VARS[@]} free ports from ${TP4_COMPOSE_PORT_BASE:-62000}"; exit 1; }
{
  grep -vE '^(COMPOSE_PROJECT_NAME|[A-Z_]+_PASSWORD|SERVICE_TOKEN|OPERATOR_TOKEN)=' "$ROOT/.env.example"
  echo "COMPOSE_PROJECT_NAME=$PROJECT"
  for var in EVENTS_DB_PASSWORD PAYMENTS_DB_PASSWORD SAGAS_DB_PASSWORD SERVICE_TOKEN OPERATOR_TOKEN; do
    echo "$var=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  done
  echo "RABBITMQ_PASSWORD=guest"
  for (( i = 0; i < ${#PORT_VARS[@]}; i++ )); do echo "${PORT_VARS[$i]}=$((base + i))"; done
  printf '%s\n' "$IMAGE_LINES"
} >"$WORK/tp4/.env"
# The same variables for the checks run from the real checkout (test-system.sh, fleet demo).
set -a
# shellcheck disable=SC1091
source "$WORK/tp4/.env"
set +a
log "host ports $base-$((base + ${#PORT_VARS[@]} - 1)); project $PROJECT; copy of the checkout in $WORK/tp4"

cd "$WORK/tp4" || exit 1

# ---- up, healthy ------------------------------------------------------------------------------------
echo "the compose route ($COMPOSE):"
# `up -d` builds the project image only when no tp4-ticketing:latest exists: build it first, so
# this checkout's code is what runs (from the build cache when nothing changed).
t=$SECONDS
if out=$($COMPOSE build 2>&1); then
  ok "docker-compose build ($(( SECONDS - t )) s)"
else
  ko "docker-compose build"; printf '%s\n' "$out" | tail -n 30 | sed 's/^/      /'
  exit 1
fi
phase "docker-compose build (the project image)" "$t"
t=$SECONDS
if out=$($COMPOSE up -d 2>&1); then
  ok "docker-compose up -d ($(( SECONDS - t )) s)"
else
  ko "docker-compose up -d"; printf '%s\n' "$out" | tail -n 30 | sed 's/^/      /'
  exit 1
fi
phase "docker-compose up -d" "$t"

# all_healthy: every container of the fleet running and healthy (each has a health check).
all_healthy() {
  local states
  states=$(docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "${CONTAINERS[@]}" 2>/dev/null) || return 1
  ! grep -qv ' running healthy$' <<<"$states"
}
wait_healthy() {
  local limit=$1 t=$SECONDS
  until all_healthy; do
    (( SECONDS - t >= limit )) && return 1
    sleep 1
  done
}
t=$SECONDS
if wait_healthy 600; then
  ok "every container running and healthy ($(( SECONDS - t )) s after up)"
else
  ko "every container running and healthy (600 s)"
  docker ps -a --format '      {{.Names}}: {{.Status}}' --filter "label=com.docker.compose.project=$PROJECT"
  for c in "${CONTAINERS[@]}"; do
    [[ "$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$c" 2>/dev/null)" == healthy ]] \
      || { echo "      --- $c (last log lines)"; docker logs --tail 15 "$c" 2>&1 | sed 's/^/      /'; }
  done
  exit 1
fi
phase "healthy" "$t"

# ---- the story ----------------------------------------------------------------------------------------
t=$SECONDS
if "$ROOT/scripts/test-system.sh" --compose; then ok "scripts/test-system.sh --compose"
else ko "scripts/test-system.sh --compose"; fi
phase "scripts/test-system.sh --compose" "$t"

export EVENT_URL="http://127.0.0.1:$PORT_EVENT_SERVICE" RESERVATION_URL="http://127.0.0.1:$PORT_RESERVATION_SERVICE"
export PAYMENT_URL="http://127.0.0.1:$PORT_PAYMENT_SERVICE" ANALYTICS_URL="http://127.0.0.1:$PORT_ANALYTICS_SERVICE"
export EVENT_STORE_URL="http://127.0.0.1:$PORT_EVENT_STORE_SERVICE" SAGA_URL="http://127.0.0.1:$PORT_SAGA_ORCHESTRATOR"
export NOTIFICATION_URL="http://127.0.0.1:$PORT_NOTIFICATION_SERVICE"
# One booking, one trace (docs/tracing.md): a completed saga's traceId, read back from the
# zipkin container, holds spans of the orchestrator and of the three participants it called.
booking_traced() {
  local saga trace services want
  saga=$(curl -fsS "$SAGA_URL/api/saga?status=COMPLETED&size=1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["sagaId"])') || return 1
  trace=$(curl -fsS "$SAGA_URL/api/saga/$saga" | python3 -c 'import json, sys; print(json.load(sys.stdin)["traceId"] or "")')
  [[ -n "$trace" ]] || { echo "saga $saga has no traceId"; return 1; }
  for (( i = 0; i < 30; i++ )); do
    services=$(curl -fsS "http://127.0.0.1:$PORT_ZIPKIN/api/v2/trace/$trace" 2>/dev/null \
      | python3 -c 'import json, sys; print(" ".join(sorted({s["localEndpoint"]["serviceName"] for s in json.load(sys.stdin)})))') \
      && [[ $services == *saga-orchestrator* && $services == *event-service* ]] \
      && [[ $services == *payment-service* && $services == *reservation-service* ]] \
      && { echo "saga $saga, trace $trace: $services"; return 0; }
    sleep 1
  done
  echo "saga $saga, trace $trace: spans of '${services:-nothing}' only"
  return 1
}
check "a booking's trace in the zipkin container" booking_traced
if (( ! QUICK )); then
  t=$SECONDS
  [[ -x "$ROOT/.venv/bin/fleet" ]] || "$ROOT/scripts/bootstrap.sh"
  if "$ROOT/.venv/bin/fleet" demo; then ok "fleet demo against the containers"
  else ko "fleet demo against the containers"; fi
  phase "fleet demo" "$t"
fi

# ---- the handout's commands, pasted ---------------------------------------------------------------------
echo "the handout's commands (docs/handout.md, docs/docker-compose.md):"
t=$SECONDS
# In a terminal, as typed (-it): scripts/typist.py gives the program a pseudo-terminal of 50x200
# (so psql's pager stays away) that answers cursor queries as a terminal emulator does, types the
# keystrokes once the program had time to start, each line ended by Enter (\r, as a terminal
# sends it); then the -i form a script uses. A guard of 120 s each.
# typed WAIT COMMAND [LINE...]
typed() { python3 "$ROOT/scripts/typist.py" "$@"; }
# seen PATTERN: the output holds PATTERN (read to the end, so the writer never gets SIGPIPE).
seen() { tee /dev/stderr | grep -c -- "$1" >/dev/null; }
psql_it_events_user() {
  typed 5 'docker exec -it postgres-events psql -U events_user -d events_db' \
    'select current_user, current_database();' '\q' | seen 'events_user.*events_db'
}
psql_it_postgres() {
  typed 5 'docker exec -it postgres-events psql -U postgres -d events_db' \
    'select count(*) > 0 as has_events from events;' '\q' | seen '^ *t'
}
psql_i_payments() {
  docker exec -i postgres-payments psql -U payments_user -d payments_db -Atc 'select count(*) > 0 from payments' | grep -qx t
}
psql_i_sagas() {
  docker exec -i postgres-sagas psql -U sagas_user -d sagas_db -Atc "select count(*) > 0 from sagas where status = 'COMPLETED'" | grep -qx t
}
mongosh_it() {
  typed 15 'docker exec -it mongo-reservations mongosh --quiet' \
    'use reservations_db' 'db.reservations.countDocuments() > 0' 'exit' | seen true
}
mongosh_i() {
  docker exec -i mongo-event-store mongosh event_store_db --quiet --eval 'db.events.countDocuments() > 0' | grep -qx true
}
redis_it() { typed 5 'docker exec -it redis-cache redis-cli' 'ping' 'quit' | seen PONG; }
redis_i() { docker exec -i redis-cache redis-cli --scan --pattern 'payment:*' | grep -q '^payment:'; }
rabbitmqctl_it() { typed 0 'docker exec -it rabbitmq rabbitmqctl list_queues' | seen 'analytics.projection'; }
compose_ps() { $COMPOSE ps | seen 'event-service'; }
# `logs -f` follows until interrupted: five seconds of it show the service's log lines.
logs_follow() {
  local out rc
  out=$(timeout 5 $COMPOSE logs -f event-service 2>&1)
  rc=$?
  printf '%s\n' "$out" | tail -n 3
  [[ $rc == 124 ]] && grep -q 'event-service' <<<"$out"
}
check "docker exec -it postgres-events psql -U events_user -d events_db" psql_it_events_user
check "docker exec -it postgres-events psql -U postgres -d events_db" psql_it_postgres
check "docker exec -i postgres-payments psql -U payments_user -d payments_db -c …" psql_i_payments
check "docker exec -i postgres-sagas psql -U sagas_user -d sagas_db -c …" psql_i_sagas
check "docker exec -it mongo-reservations mongosh, then use reservations_db" mongosh_it
check "docker exec -i mongo-event-store mongosh event_store_db --eval …" mongosh_i
check "docker exec -it redis-cache redis-cli" redis_it
check "docker exec -i redis-cache redis-cli --scan --pattern 'payment:*'" redis_i
check "docker exec -it rabbitmq rabbitmqctl list_queues" rabbitmqctl_it
check "docker ps (every container healthy)" all_healthy
check "docker-compose ps" compose_ps
check "docker-compose logs -f event-service" logs_follow

restart_postgres() {
  $COMPOSE restart postgres-events || return 1
  # The engine is back, and the service with it: a new event is written to events_db.
  local i code
  wait_healthy 120 || { echo "not healthy again"; return 1; }
  for (( i = 0; i < 60; i++ )); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$EVENT_URL/ready")
    [[ "$code" == 200 ]] && break
    sleep 1
  done
  [[ "$code" == 200 ]] || { echo "event-service /ready: $code"; return 1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$EVENT_URL/api/events" -H 'Content-Type: application/json' \
    -d '{"name": "Après le redémarrage", "eventDate": "2031-01-15T20:00:00", "location": "Dakar Arena",
         "category": "concert", "totalCapacity": 10, "ticketPrice": 1000}')
  [[ "$code" == 201 ]] || { echo "create an event after the restart: HTTP $code"; return 1; }
}
check "docker-compose restart postgres-events (the service writes again)" restart_postgres

# Services stop on SIGTERM (init: true passes it on): none is killed at the end of its grace period.
stop_promptly() {
  local t=$SECONDS codes
  $COMPOSE stop || return 1
  codes=$(docker inspect -f '{{.Name}} {{.State.ExitCode}}' "${CONTAINERS[@]}")
  echo "$codes"
  ! grep -q ' 137$' <<<"$codes" || { echo "killed (137) after the grace period"; return 1; }
  echo "docker-compose stop: $(( SECONDS - t )) s"
}
check "docker-compose stop: every container stops on SIGTERM (no exit 137)" stop_promptly
check "docker-compose down" bash -c "$COMPOSE down && ! docker ps -a --format '{{.Names}}' | grep -qx event-service"
volumes_gone() {
  ./scripts/cleanup.sh --volumes || return 1
  ! docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT" | grep -q .
}
# On the copy: its .data is empty and no native fleet started from it, so cleanup.sh stops no
# native engine here, whatever runs on this machine (TP4_DATA_DIR would point it elsewhere).
unset TP4_DATA_DIR
check "./scripts/cleanup.sh --volumes (the compose volumes too)" volumes_gone
phase "the handout's commands" "$t"

cd "$ROOT" || exit 1
echo
printf '%s passed, %s failed (%s s)\n' "$PASSED" "$FAILED" "$(( SECONDS - T0 ))"
(( FAILED )) && printf '  failed: %s\n' "${FAILURES[@]}"
(( FAILED == 0 ))
}

main "$@"; exit $?
