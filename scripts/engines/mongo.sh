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
