# MongoDB wire protocol: SecantusDB's Rust server (WiredTiger storage) on 127.0.0.1:27017,
# built once from crates.io into the cache folder outside the checkout and reused by every
# clone. Fallback: the authors' Python daemon (correct, ~38x slower under concurrency).
MONGO_PORT="${MONGO_PORT:-27017}"
SECANTUS_VERSION=0.5.3-beta.196
SECANTUS_PY_VERSION=0.7.0b3

mongo_binary() {
  if [[ -x "$CACHE_DIR/secantus/bin/secantusd-rs" ]]; then
    echo "$CACHE_DIR/secantus/bin/secantusd-rs"
  elif [[ -x "$CACHE_DIR/secantus-py/bin/secantusd-py" ]]; then
    echo "$CACHE_DIR/secantus-py/bin/secantusd-py"
  fi
}

mongo_install() {
  [[ -n "$(mongo_binary)" ]] && return 0
  log "building secantusd-rs $SECANTUS_VERSION from crates.io (once, about 5 minutes on 2 cores)"
  # --version: without it cargo picks an empty placeholder; --ignore-rust-version: the crate
  # declares a newer rustc than this machine's, yet builds and passes with it.
  if CARGO_INSTALL_ROOT="$CACHE_DIR/secantus" cargo install secantus-mdb \
      --version "$SECANTUS_VERSION" --locked --ignore-rust-version >"$LOG_DIR/mongo-build.log" 2>&1; then
    log "secantusd-rs built"
    return 0
  fi
  warn "building secantusd-rs failed (see $LOG_DIR/mongo-build.log); falling back to the Python daemon secantusdb==$SECANTUS_PY_VERSION, correct but about 38x slower under concurrency"
  python3 -m venv "$CACHE_DIR/secantus-py"
  "$CACHE_DIR/secantus-py/bin/pip" install -q "secantusdb==$SECANTUS_PY_VERSION" >>"$LOG_DIR/mongo-build.log" 2>&1 \
    || die "could not install the MongoDB-wire server"
}

mongo_ready() { python3 "$ROOT/scripts/mongo_ping.py" 127.0.0.1 "$MONGO_PORT"; }

mongo_start() {
  local bin; bin=$(mongo_binary)
  mkdir -p "$DATA_DIR/mongo"
  (
    # It reads a secantusd.toml from its working directory: start it in its own folder.
    cd "$DATA_DIR/mongo"
    setsid nohup "$bin" --host 127.0.0.1 --port "$MONGO_PORT" --storage-path "$DATA_DIR/mongo/data" \
      --log-level WARNING --log-file-max 16MB >"$LOG_DIR/mongo.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/mongo.pid"
  )
}

mongo_stop() { stop_pidfile mongo "$RUN_DIR/mongo.pid"; }

# mongosh, MongoDB's shell, from the npm registry into the cache folder (once, shared by every
# clone like the server). It speaks the wire protocol, so it works against this server too.
MONGOSH_VERSION=2.12.0
mongosh_binary() { echo "$CACHE_DIR/mongosh/node_modules/.bin/mongosh"; }

mongosh_install() {
  [[ -x "$(mongosh_binary)" ]] && return 0
  command -v npm >/dev/null || apt_install nodejs npm
  (
    # Two shells opened at once on a fresh machine install it once.
    flock 9
    [[ -x "$(mongosh_binary)" ]] && exit 0
    log "installing mongosh $MONGOSH_VERSION from the npm registry into $CACHE_DIR/mongosh (once)"
    npm install --prefix "$CACHE_DIR/mongosh" --no-audit --no-fund --omit=dev \
      "mongosh@$MONGOSH_VERSION" >"$LOG_DIR/mongosh-install.log" 2>&1 \
      || die "npm install mongosh failed, see $LOG_DIR/mongosh-install.log"
    # Usage statistics are on by default; a course machine sends none.
    "$(mongosh_binary)" --nodb --quiet --eval 'disableTelemetry()' >/dev/null 2>&1 || true
  ) 9>"$CACHE_DIR/mongosh.lock"
}

# mongosh on one service's database: `infra.sh mongosh reservations [args]`. The URL and
# database are the service's own settings (RESERVATION_MONGO_URL, RESERVATION_MONGO_DATABASE,
# …) when set, else their defaults. Extra arguments go to mongosh (--eval, --quiet, a file).
# With stdin not a terminal and no script given, stdin is the script (run as with --eval: the
# last expression's value is printed, print() shows more), so no prompt is echoed.
mongo_client() {
  local name=${1:-} prefix db
  shift || true
  case "$name" in
    reservations|reservations_db) prefix=RESERVATION db=reservations_db ;;
    event_store|event-store|event_store_db) prefix=EVENT_STORE db=event_store_db ;;
    notifications|notifications_db) prefix=NOTIFICATION db=notifications_db ;;
    *) die "usage: infra.sh mongosh reservations|event_store|notifications [mongosh arguments...]" ;;
  esac
  mongosh_install
  local url_var="${prefix}_MONGO_URL" db_var="${prefix}_MONGO_DATABASE"
  local url=${!url_var:-mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true}
  db=${!db_var:-$db}
  # The database goes in the URL's path, keeping its host list and options.
  url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$url" "$db")
  if [[ ! -t 0 ]] && ! mongosh_has_script "$@"; then
    local script
    script=$(cat)
    exec "$(mongosh_binary)" "$url" "$@" --eval "$script"
  fi
  exec "$(mongosh_binary)" "$url" "$@"
}

mongosh_has_script() {
  local arg
  for arg in "$@"; do
    case "$arg" in
      --eval|--eval=*|-f|--file|--file=*|*.js) return 0 ;;
    esac
  done
  return 1
}
