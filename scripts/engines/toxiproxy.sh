# shellcheck shell=bash
# Toxiproxy (Shopify's TCP proxy that injects network faults) on 127.0.0.1:8474, its HTTP API.
# Built once with `go install` from the Go module proxy into the cache folder outside the
# checkout and reused by every clone. The normal fleet never goes through it: only a fleet
# started with network faults (`fleet nemesis --faults latency,...`) puts a proxy of its own
# on each of its links (fleetctl/toxiproxy.py), and removes them when it is discarded.
TOXIPROXY_PORT="${TOXIPROXY_PORT:-8474}"
TOXIPROXY_VERSION=v2.12.0

toxiproxy_binary() { echo "$CACHE_DIR/toxiproxy/$TOXIPROXY_VERSION/toxiproxy-server"; }

toxiproxy_install() {
  [[ -x "$(toxiproxy_binary)" ]] && return 0
  command -v go >/dev/null || [[ -x /usr/local/go/bin/go ]] || apt_install golang-go
  local go_bin; go_bin=$(command -v go || echo /usr/local/go/bin/go)
  mkdir -p "$CACHE_DIR/toxiproxy"
  (
    # Two infra.sh runs at once on a fresh machine build it once.
    flock 9
    [[ -x "$(toxiproxy_binary)" ]] && exit 0
    log "building toxiproxy-server $TOXIPROXY_VERSION with go install (once, a minute or more on 2 cores)"
    # The module's server command is cmd/server: go install names the binary `server`.
    local dir="$CACHE_DIR/toxiproxy/$TOXIPROXY_VERSION"
    GOBIN="$dir" CGO_ENABLED=0 "$go_bin" install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION" \
      >"$LOG_DIR/toxiproxy-build.log" 2>&1 \
      || die "go install toxiproxy-server failed, see $LOG_DIR/toxiproxy-build.log"
    mv "$dir/server" "$(toxiproxy_binary)"
  ) 9>"$CACHE_DIR/toxiproxy.lock"
}

toxiproxy_ready() { curl -fsS "http://127.0.0.1:$TOXIPROXY_PORT/version" >/dev/null 2>&1; }

toxiproxy_start() {
  setsid nohup "$(toxiproxy_binary)" -host 127.0.0.1 -port "$TOXIPROXY_PORT" \
    >"$LOG_DIR/toxiproxy.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/toxiproxy.pid"
}

toxiproxy_stop() { stop_pidfile toxiproxy "$RUN_DIR/toxiproxy.pid"; }
