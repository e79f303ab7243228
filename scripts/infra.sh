#!/usr/bin/env bash
# Installs (when missing) and starts the engines on 127.0.0.1, idempotently.
#   scripts/infra.sh up [engine...]     install what is missing, start what is down, wait until ready
#   scripts/infra.sh down [engine...]   stop only what this script started (by PID file)
#   scripts/infra.sh status             one line per engine: up or down
#   scripts/infra.sh install            install everything, start nothing
#   scripts/infra.sh psql events|payments|sagas [psql args]          a service's PostgreSQL database
#   scripts/infra.sh mongosh reservations|event_store|notifications [mongosh args]
#                                       a service's MongoDB database (mongosh installed once from npm)
#   scripts/infra.sh redis-cli [redis-cli args]                      the payment service's Redis cache
#   scripts/infra.sh rabbitmqctl [args]                              the RabbitMQ node's control tool
# The shells open the database the service itself uses (its *_DATABASE_URL / *_MONGO_URL /
# PAYMENT_REDIS_URL when set); extra arguments and stdin go to the tool, e.g.
#   scripts/infra.sh psql events -c 'select count(*) from events'
# Engines: postgres redis rabbitmq mongo opensearch zipkin (traces). Data lives in .data/ (git-ignored).
# On demand, by name only (`up toxiproxy`): toxiproxy, the proxy of the nemesis' network faults.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA_DIR="${TP4_DATA_DIR:-$ROOT/.data}"
LOG_DIR="$DATA_DIR/logs"
RUN_DIR="$DATA_DIR/run"
CACHE_DIR="${TP4_CACHE_DIR:-$HOME/.cache/tp4-ticketing}"
mkdir -p "$DATA_DIR" "$LOG_DIR" "$RUN_DIR" "$CACHE_DIR"

ENGINES=(postgres redis rabbitmq mongo opensearch zipkin)
# Not needed by the fleet, so neither installed nor started unless named; `down` stops them too.
ON_DEMAND=(toxiproxy)
# Down, these lose nothing but what they are for (traces): `status` says so and stays 0.
OPTIONAL_ENGINES=(zipkin)

log() { printf '[infra] %s\n' "$*" >&2; }
warn() { printf '[infra] WARNING: %s\n' "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }

# wait_for SECONDS DESCRIPTION COMMAND...: poll a protocol check, never a fixed sleep.
wait_for() {
  local limit=$1 what=$2; shift 2
  local start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - start >= limit )); then
      return 1
    fi
    sleep 0.3
  done
  log "$what ready in $((SECONDS - start)) s"
}

pid_alive() {
  local pidfile=$1
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# pid_running PID [MARKER]: the process is there and, with MARKER, its command line holds it
# (a reused pid is not ours; a zombie JVM's command line is empty, so it counts as gone).
pid_running() {
  kill -0 "$1" 2>/dev/null && { [[ -z "${2:-}" ]] || grep -qa -- "$2" "/proc/$1/cmdline" 2>/dev/null; }
}

# stop_pidfile NAME PIDFILE [MARKER]: TERM, wait, then KILL; only processes we started.
stop_pidfile() {
  local name=$1 pidfile=$2 marker=${3:-} pid
  if ! { [[ -s "$pidfile" ]] && pid_running "$(cat "$pidfile")" "$marker"; }; then
    rm -f "$pidfile"
    return 0
  fi
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    pid_running "$pid" "$marker" || break
    sleep 0.3
  done
  if pid_running "$pid" "$marker"; then
    warn "$name did not stop in 30 s, killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  log "$name stopped"
}

APT_UPDATED=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  (( ${#missing[@]} == 0 )) && return 0
  log "installing Debian packages: ${missing[*]}"
  if (( APT_UPDATED == 0 )); then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$LOG_DIR/apt.log" 2>&1
    APT_UPDATED=1
  fi
  # policy-rc.d keeps the packages' own init scripts from starting a second server.
  local policy=/usr/sbin/policy-rc.d created=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >>"$LOG_DIR/apt.log" 2>&1 || { (( created )) && rm -f "$policy"; die "apt-get install failed, see $LOG_DIR/apt.log"; }
  (( created )) && rm -f "$policy"
  return 0
}

for engine in "${ENGINES[@]}" "${ON_DEMAND[@]}"; do
  # shellcheck source=/dev/null
  source "$ROOT/scripts/engines/$engine.sh"
done

engine_up() {
  local e=$1
  "${e}_install"
  if "${e}_ready"; then
    log "$e already up"
    return 0
  fi
  "${e}_start"
  wait_for "${ENGINE_TIMEOUT:-120}" "$e" "${e}_ready" || die "$e did not become ready; see $LOG_DIR/$e.log"
}

cmd=${1:-status}
shift || true
# The tools (psql, mongosh, redis-cli, rabbitmqctl) take their own arguments, as given.
tool_args=("$@")
selected=("$@")
(( ${#selected[@]} == 0 )) && selected=("${ENGINES[@]}")

case "$cmd" in
  install)
    for e in "${selected[@]}"; do "${e}_install"; done
    ;;
  up)
    for e in "${selected[@]}"; do engine_up "$e"; done
    ;;
  down)
    (( $# == 0 )) && selected=("${ENGINES[@]}" "${ON_DEMAND[@]}")
    for (( i=${#selected[@]}-1; i>=0; i-- )); do "${selected[$i]}_stop"; done
    ;;
  status)
    rc=0
    for e in "${selected[@]}"; do
      if "${e}_ready" >/dev/null 2>&1; then
        printf '%-11s up\n' "$e"
      elif [[ " ${OPTIONAL_ENGINES[*]} " == *" $e "* ]]; then
        printf '%-11s down (optional: the fleet works without it)\n' "$e"
      else
        printf '%-11s down\n' "$e"; rc=1
      fi
    done
    exit $rc
    ;;
  rabbitmqctl)
    rabbitmq_ctl "${tool_args[@]}"
    ;;
  psql)
    postgres_client "${tool_args[@]}"
    ;;
  mongosh)
    mongo_client "${tool_args[@]}"
    ;;
  redis-cli)
    redis_client "${tool_args[@]}"
    ;;
  *)
    die "usage: $0 up|down|status|install [engine...] | psql DB | mongosh DB | redis-cli | rabbitmqctl"
    ;;
esac
