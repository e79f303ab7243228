# RabbitMQ (Debian package) on 127.0.0.1:5672 with the management UI on 15672 (guest/guest).
# Run directly (not through Debian's su wrapper), with its own node name, cookie and data.
AMQP_PORT="${AMQP_PORT:-5672}"
RABBITMQ_UI_PORT="${RABBITMQ_UI_PORT:-15672}"
RABBIT_BIN=/usr/lib/rabbitmq/bin

rabbitmq_env() {
  local base="$DATA_DIR/rabbitmq"
  mkdir -p "$base" "$LOG_DIR/rabbitmq"
  export HOME="$base"   # the Erlang cookie lives here, shared by server and CLI
  export RABBITMQ_NODENAME="${TP4_RABBITMQ_NODENAME:-tp4@localhost}"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$AMQP_PORT"
  export RABBITMQ_DIST_PORT=$((AMQP_PORT + 20000))
  export ERL_EPMD_ADDRESS=127.0.0.1
  # Erlang distribution (CLI tools <-> node) on loopback only.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_MNESIA_BASE="$base/mnesia"
  export RABBITMQ_LOG_BASE="$LOG_DIR/rabbitmq"
  export RABBITMQ_PID_FILE="$RUN_DIR/rabbitmq.pid"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins"
  export RABBITMQ_CONFIG_FILE="$base/rabbitmq"
  if [[ ! -f "$base/rabbitmq.conf" ]]; then
    cat >"$base/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $RABBITMQ_UI_PORT
log.file.level = warning
log.console = false
CONF
  fi
  [[ -f "$base/enabled_plugins" ]] || echo '[rabbitmq_management].' >"$base/enabled_plugins"
}

rabbitmq_install() { apt_install rabbitmq-server; }

# rabbitmqctl with this node's environment (used by tests: stop_app / start_app).
rabbitmq_ctl() { ( rabbitmq_env; "$RABBIT_BIN/rabbitmqctl" "$@" ); }

# The management API's aliveness test declares a queue, publishes and consumes a message on
# the node: a real broker round trip, and it needs no Erlang cookie, so it also recognises a
# node started from another checkout.
rabbitmq_ready() {
  curl -fsS -u guest:guest "http://127.0.0.1:$RABBITMQ_UI_PORT/api/aliveness-test/%2F" 2>/dev/null \
    | grep -q '"status":"ok"'
}

rabbitmq_start() {
  (
    rabbitmq_env
    cd "$DATA_DIR/rabbitmq"
    setsid nohup "$RABBIT_BIN/rabbitmq-server" >"$LOG_DIR/rabbitmq.log" 2>&1 </dev/null &
  )
}

rabbitmq_stop() {
  if pid_alive "$RUN_DIR/rabbitmq.pid"; then
    rabbitmq_ctl stop >/dev/null 2>&1 || true
  fi
  stop_pidfile rabbitmq "$RUN_DIR/rabbitmq.pid"
}
