# shellcheck shell=bash
# Trace collector and UI for native runs: Zipkin 3.5.1 (io.zipkin:zipkin-server, the `exec`
# jar from Maven Central, UI included), in-memory storage, on 127.0.0.1:9411. Sourced by
# scripts/infra.sh, which sets ROOT, DATA_DIR, LOG_DIR, RUN_DIR, CACHE_DIR and the helpers log,
# warn, pid_alive, apt_install.
#
#   zipkin_install   fetch the jar once into $CACHE_DIR/zipkin/<version>/ (Maven, Java 17)
#   zipkin_start     start the server in the background (no-op if :9411 already answers)
#   zipkin_ready     0 when /health says UP
#   zipkin_stop      stop the server we started (pid file), TERM then KILL after 30 s
#
# The services export to it when it is up and go on unslowed when it is not (docs/tracing.md):
# it is the one engine the fleet can lose without losing anything but traces.
#
# Env: ZIPKIN_PORT (9411), ZIPKIN_HEAP (256m), ZIPKIN_MAX_SPANS (100000 kept in memory, the
# oldest traces dropped past it), ZIPKIN_START_TIMEOUT (180 s: a loaded 2-core machine took 70 s).

ZIPKIN_VERSION=3.5.1
ZIPKIN_PORT="${ZIPKIN_PORT:-9411}"

_zipkin_dir() { printf '%s\n' "$CACHE_DIR/zipkin/$ZIPKIN_VERSION"; }
_zipkin_jar() { printf '%s\n' "$(_zipkin_dir)/zipkin-server-$ZIPKIN_VERSION-exec.jar"; }
_zipkin_pidfile() { printf '%s\n' "$RUN_DIR/zipkin-$ZIPKIN_PORT.pid"; }

zipkin_install() {
    local dir jar
    dir="$(_zipkin_dir)"
    jar="$(_zipkin_jar)"
    [[ -f "$jar" && -f "$dir/.complete" ]] && return 0
    if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
        apt_install openjdk-17-jdk-headless maven
    fi
    mkdir -p "$dir" "$LOG_DIR" || return 1
    (
        # One download at a time per cache (parallel infra.sh runs, several checkouts).
        if command -v flock >/dev/null 2>&1; then
            exec 9>"$dir/.lock" && flock 9
        fi
        [[ -f "$jar" && -f "$dir/.complete" ]] && exit 0
        local started=$SECONDS fetchlog="$LOG_DIR/zipkin-install.log"
        log "zipkin: fetching io.zipkin:zipkin-server:$ZIPKIN_VERSION:exec (131 MB, once) from Maven Central"
        if ! mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
            "-Dartifact=io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec" \
            "-DoutputDirectory=$dir" -Dmdep.overWriteReleases=true >"$fetchlog" 2>&1; then
            warn "zipkin: download failed, see $fetchlog"
            tail -n 20 "$fetchlog" >&2
            exit 1
        fi
        [[ -s "$jar" ]] || { warn "zipkin: $jar missing after the download"; exit 1; }
        touch "$dir/.complete"
        log "zipkin: fetched in $((SECONDS - started)) s -> $jar"
    )
}

zipkin_ready() {
    curl -fsS --max-time 3 "http://127.0.0.1:${ZIPKIN_PORT}/health" 2>/dev/null | grep -q '"UP"'
}

# Our server is running: the pid file's process is alive and is the Zipkin jar (guards
# against a recycled pid).
_zipkin_pid_running() { pid_running "$1" zipkin-server; }

_zipkin_alive() {
    local pidfile
    pidfile="$(_zipkin_pidfile)"
    [[ -s "$pidfile" ]] && _zipkin_pid_running "$(cat "$pidfile")"
}

zipkin_start() {
    if zipkin_ready; then
        log "zipkin: already up on 127.0.0.1:${ZIPKIN_PORT}"
        return 0
    fi
    local pidfile started=$SECONDS limit="${ZIPKIN_START_TIMEOUT:-180}" workdir
    pidfile="$(_zipkin_pidfile)"
    workdir="$DATA_DIR/zipkin"
    mkdir -p "$LOG_DIR" "$RUN_DIR" "$workdir" || return 1
    if ! _zipkin_alive; then
        rm -f "$pidfile"
        zipkin_install || return 1
        log "zipkin: starting on 127.0.0.1:${ZIPKIN_PORT} (in-memory storage)"
        # Bound to the loopback like every engine; QUERY_PORT is Zipkin's own setting, the
        # armeria.ports entry binds it to 127.0.0.1. Same launch as the search node: the inner
        # bash writes its pid then execs java; setsid keeps a Ctrl-C on the caller away.
        # Only the launch runs in the background (`cd ... && launch &` would leave a copy of
        # this shell waiting on it, holding the caller's stdout open).
        # shellcheck disable=SC2016
        (cd "$workdir" || exit 1
        STORAGE_TYPE=mem MEM_MAX_SPANS="${ZIPKIN_MAX_SPANS:-100000}" \
            QUERY_PORT="$ZIPKIN_PORT" COLLECTOR_SCRIBE_ENABLED=false \
            nohup setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' zipkin-start "$pidfile" \
            java "-Xms${ZIPKIN_HEAP:-256m}" "-Xmx${ZIPKIN_HEAP:-256m}" -XX:+ExitOnOutOfMemoryError \
            -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
            -jar "$(_zipkin_jar)" \
            "--armeria.ports[0].port=$ZIPKIN_PORT" "--armeria.ports[0].ip=127.0.0.1" \
            "--armeria.ports[0].protocols=http" \
            </dev/null >>"$LOG_DIR/zipkin.log" 2>&1 &)
    fi
    until zipkin_ready; do
        if [[ -s "$pidfile" ]] && ! _zipkin_alive; then
            warn "zipkin: exited, see $LOG_DIR/zipkin.log"
            tail -n 20 "$LOG_DIR/zipkin.log" >&2 2>/dev/null
            return 1
        fi
        if ((SECONDS - started >= limit)); then
            warn "zipkin: not ready on 127.0.0.1:${ZIPKIN_PORT}, see $LOG_DIR/zipkin.log"
            return 1
        fi
        sleep 0.3
    done
    log "zipkin: ready in $((SECONDS - started)) s, UI http://127.0.0.1:${ZIPKIN_PORT}/zipkin/"
}

zipkin_stop() { stop_pidfile zipkin "$(_zipkin_pidfile)" zipkin-server; }
