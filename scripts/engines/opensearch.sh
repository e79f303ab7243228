# shellcheck shell=bash
# Search engine for native runs (dev machines, CI): one embedded OpenSearch 2.19.6 node run by
# our own Java main (tools/search-node, see docs/design.md §2). Sourced by scripts/infra.sh, which
# sets ROOT, DATA_DIR, LOG_DIR, RUN_DIR, CACHE_DIR and the helpers log, warn, pid_alive
# (infra.sh's wait_for on opensearch_ready then confirms readiness).
#
#   opensearch_install   build tools/search-node into $CACHE_DIR/search-node/<source hash>/
#   opensearch_start     start the node in the background (no-op if :9200 is already healthy)
#   opensearch_ready     0 when the cluster health reaches yellow
#   opensearch_stop      stop the node we started (pid file), TERM then KILL after 30 s
#
# Env: SEARCH_HTTP_PORT (9200), SEARCH_TRANSPORT_PORT (9300), SEARCH_HEAP (512m; 256m is the
# floor), SEARCH_JAVA_OPTS (extra JVM flags), SEARCH_START_TIMEOUT (120 s).

SEARCH_HTTP_PORT="${SEARCH_HTTP_PORT:-9200}"
SEARCH_TRANSPORT_PORT="${SEARCH_TRANSPORT_PORT:-9300}"

_opensearch_src() { printf '%s\n' "$ROOT/tools/search-node"; }
_opensearch_pidfile() { printf '%s\n' "$RUN_DIR/opensearch.pid"; }

# Content hash of the pom and every source file: the build folder is keyed by it, so a
# changed source means a new build, and fresh clones (CI) with the same sources reuse it.
_opensearch_hash() {
    (
        cd "$(_opensearch_src)" || exit 1
        { printf '%s\n' pom.xml; find src -type f; } | LC_ALL=C sort | while IFS= read -r f; do
            printf '%s  ' "$f"
            sha256sum <"$f" | cut -d' ' -f1
        done | sha256sum | cut -c1-16
    )
}

_opensearch_build_dir() {
    local hash
    hash="$(_opensearch_hash)" || return 1
    printf '%s\n' "$CACHE_DIR/search-node/$hash"
}

opensearch_install() {
    local dest
    dest="$(_opensearch_build_dir)" || { warn "opensearch: cannot hash $(_opensearch_src)"; return 1; }
    if [[ -f "$dest/search-node.jar" && -f "$dest/.complete" ]]; then
        return 0
    fi
    if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
        apt_install openjdk-17-jdk-headless maven
    fi
    mkdir -p "$CACHE_DIR/search-node" "$LOG_DIR" || return 1
    (
        # One build at a time per cache (parallel infra.sh runs, several checkouts).
        if command -v flock >/dev/null 2>&1; then
            exec 9>"$CACHE_DIR/search-node/.lock" && flock 9
        fi
        [[ -f "$dest/search-node.jar" && -f "$dest/.complete" ]] && exit 0
        local build="$dest.build.$$" buildlog="$LOG_DIR/search-node-build.log" started=$SECONDS
        rm -rf "$build" "$dest"
        log "opensearch: building tools/search-node (Maven; ~90 MB of jars once into ~/.m2)"
        if ! mvn -q -B -f "$(_opensearch_src)/pom.xml" package -DskipTests \
            "-Dsearchnode.build.dir=$build" >"$buildlog" 2>&1; then
            warn "opensearch: Maven build failed, see $buildlog"
            tail -n 30 "$buildlog" >&2
            rm -rf "$build"
            exit 1
        fi
        mkdir -p "$build/dist" &&
            cp "$build/search-node.jar" "$build/dist/" &&
            cp -r "$build/lib" "$build/dist/lib" &&
            touch "$build/dist/.complete" &&
            mv -T "$build/dist" "$dest" || { rm -rf "$build" "$dest"; exit 1; }
        rm -rf "$build"
        log "opensearch: built in $((SECONDS - started)) s -> $dest"
    )
}

opensearch_ready() {
    curl -fsS -o /dev/null --max-time 5 \
        "http://127.0.0.1:${SEARCH_HTTP_PORT}/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null
}

# Our node is running: the pid file's process is alive, not a zombie, and is our jar (guards
# against a recycled pid; a zombie or a dying JVM has an empty cmdline).
_opensearch_alive() {
    local pidfile pid
    pidfile="$(_opensearch_pidfile)"
    [[ -s "$pidfile" ]] && pid_alive "$pidfile" || return 1
    pid="$(cat "$pidfile")"
    _opensearch_pid_running "$pid"
}

# A pid that is our JVM and not a zombie (a zombie's cmdline is empty).
_opensearch_pid_running() { pid_running "$1" search-node.jar; }

# Poll the cluster health until yellow; stop early if our JVM has exited (bad port, bad data
# dir, killed...): no fixed sleep, and no full timeout on a node that is already gone.
_opensearch_wait() {
    local started=$SECONDS limit="${SEARCH_START_TIMEOUT:-120}" pidfile
    pidfile="$(_opensearch_pidfile)"
    until opensearch_ready; do
        # pid file not written yet right after the launch: keep waiting
        if [[ -s "$pidfile" ]] && ! _opensearch_alive; then
            return 1
        fi
        ((SECONDS - started >= limit)) && return 1
        sleep 0.3
    done
    log "opensearch: ready (yellow) in $((SECONDS - started)) s"
}

opensearch_start() {
    if opensearch_ready; then
        log "opensearch: already up on 127.0.0.1:${SEARCH_HTTP_PORT}"
        return 0
    fi
    local pidfile dest
    pidfile="$(_opensearch_pidfile)"
    mkdir -p "$LOG_DIR" "$RUN_DIR" "$DATA_DIR/opensearch" || return 1
    if _opensearch_alive; then
        log "opensearch: pid $(cat "$pidfile") already started, waiting for it"
        _opensearch_wait && return 0
        if _opensearch_alive; then
            warn "opensearch: pid $(cat "$pidfile") runs but is not ready, see $LOG_DIR/opensearch.log"
            return 1
        fi
    fi
    rm -f "$pidfile"
    opensearch_install || return 1
    dest="$(_opensearch_build_dir)" || return 1
    log "opensearch: starting on 127.0.0.1:${SEARCH_HTTP_PORT} (data $DATA_DIR/opensearch)"
    # The inner bash writes its own pid then execs java, so the pid file holds the JVM's pid
    # even if setsid has to fork. setsid: a Ctrl-C on the caller does not reach the node.
    # shellcheck disable=SC2016,SC2086
    nohup setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' opensearch-start "$pidfile" \
        java "-Xms${SEARCH_HEAP:-512m}" "-Xmx${SEARCH_HEAP:-512m}" \
        -XX:+ExitOnOutOfMemoryError -Dfile.encoding=UTF-8 -Djava.awt.headless=true \
        ${SEARCH_JAVA_OPTS:-} \
        -jar "$dest/search-node.jar" \
        "$DATA_DIR/opensearch" "$SEARCH_HTTP_PORT" "$SEARCH_TRANSPORT_PORT" \
        </dev/null >>"$LOG_DIR/opensearch.log" 2>&1 &
    _opensearch_wait && return 0
    warn "opensearch: not ready on 127.0.0.1:${SEARCH_HTTP_PORT}, see $LOG_DIR/opensearch.log"
    tail -n 30 "$LOG_DIR/opensearch.log" >&2 2>/dev/null
    return 1
}

opensearch_stop() { stop_pidfile opensearch "$(_opensearch_pidfile)" search-node.jar; }
