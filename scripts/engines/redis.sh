# Redis (Debian package) on 127.0.0.1:6379, append-only file in .data/redis.
REDIS_PORT="${REDIS_PORT:-6379}"

redis_install() { apt_install redis-server; }

redis_ready() {
  [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
}

redis_start() {
  mkdir -p "$DATA_DIR/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
    --pidfile "$RUN_DIR/redis.pid" --dir "$DATA_DIR/redis" --logfile "$LOG_DIR/redis.log" \
    --appendonly yes --save "" >/dev/null
}

redis_stop() { stop_pidfile redis "$RUN_DIR/redis.pid"; }

# redis-cli on the payment service's cache (PAYMENT_REDIS_URL when set, else db 0 on the
# native port): `infra.sh redis-cli [args]`, e.g. `infra.sh redis-cli --scan --pattern 'payment:*'`.
redis_client() {
  command -v redis-cli >/dev/null || die "redis-cli is not installed: run scripts/infra.sh install redis"
  exec redis-cli -u "${PAYMENT_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}" "$@"
}
