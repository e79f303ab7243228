# PostgreSQL (Debian package), our own cluster in .data/postgres on 127.0.0.1:5432.
# One server holds events_db, payments_db and sagas_db, each owned by its own role.
PG_PORT="${PG_PORT:-5432}"
PG_ADMIN_PASSWORD="${PG_ADMIN_PASSWORD:-postgres}"
PG_DATABASES=("events_db:events" "payments_db:payments" "sagas_db:sagas")

pg_bin() { echo "/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -V | tail -n 1)/bin"; }

# The server refuses to run as root, so it runs as the Debian 'postgres' user; its data
# folder must be reachable by that user (a checkout under /root is not).
pg_data_dir() {
  if runuser -u postgres -- test -x "$DATA_DIR" 2>/dev/null; then
    echo "$DATA_DIR/postgres"
  else
    echo "/var/lib/tp4-ticketing/postgres-$(printf '%s' "$DATA_DIR" | cksum | cut -d' ' -f1)"
  fi
}

# The server's own log: beside its data when the postgres user cannot write to .data/logs.
pg_log_file() {
  local data; data=$(pg_data_dir)
  if [[ "$data" == "$DATA_DIR/postgres" ]]; then echo "$LOG_DIR/postgres.log"; else echo "$data.log"; fi
}

# Run a PostgreSQL tool as the postgres user, from a folder it may enter.
as_postgres() { (cd / && runuser -u postgres -- "$@"); }

postgres_install() {
  apt_install postgresql postgresql-contrib
  local data; data=$(pg_data_dir)
  if [[ ! -f "$data/PG_VERSION" ]]; then
    log "initialising a PostgreSQL cluster in $data"
    mkdir -p "$data"
    chown postgres:postgres "$data"
    chmod 700 "$data"
    local pwfile; pwfile=$(mktemp)
    printf '%s\n' "$PG_ADMIN_PASSWORD" >"$pwfile"
    chown postgres "$pwfile"
    as_postgres "$(pg_bin)/initdb" -D "$data" -U postgres --pwfile="$pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$LOG_DIR/postgres-initdb.log" 2>&1 \
      || { rm -f "$pwfile"; die "initdb failed, see $LOG_DIR/postgres-initdb.log"; }
    rm -f "$pwfile"
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$data'
max_connections = 400
shared_buffers = 256MB
CONF
  fi
}

postgres_ready() {
  pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -d postgres
}

postgres_start() {
  local data logfile; data=$(pg_data_dir); logfile=$(pg_log_file)
  touch "$logfile" && chown postgres "$logfile"
  as_postgres "$(pg_bin)/pg_ctl" -D "$data" -l "$logfile" -w -t 60 start >/dev/null \
    || die "PostgreSQL did not start, see $logfile"
  head -n 1 "$data/postmaster.pid" >"$RUN_DIR/postgres.pid"
  wait_for 60 "postgres (to provision)" postgres_ready || die "PostgreSQL not ready"
  postgres_provision
}

# Roles and databases, created when missing (idempotent).
postgres_provision() {
  local spec db role
  for spec in "${PG_DATABASES[@]}"; do
    db=${spec%%:*}; role=${spec##*:}
    PGPASSWORD="$PG_ADMIN_PASSWORD" psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT 'CREATE ROLE $role LOGIN CREATEDB PASSWORD ''$role'''
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role')\gexec
SELECT 'CREATE DATABASE $db OWNER $role'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$db')\gexec
SQL
  done
}

postgres_stop() {
  local data; data=$(pg_data_dir)
  if pid_alive "$RUN_DIR/postgres.pid"; then
    as_postgres "$(pg_bin)/pg_ctl" -D "$data" -m fast -w stop >/dev/null || true
    log "postgres stopped"
  fi
  rm -f "$RUN_DIR/postgres.pid"
}

# psql on one service's database, as that service's own role: `infra.sh psql events [args]`.
# The URL is the service's own setting (EVENT_DATABASE_URL, …) when set, else its default, so
# the shell opens the database the service writes. Extra arguments go to psql (-c, -f, …);
# with stdin not a terminal, psql reads its commands from it.
postgres_client() {
  local name=${1:-} var role db
  shift || true
  case "$name" in
    events|events_db) var=EVENT_DATABASE_URL role=events db=events_db ;;
    payments|payments_db) var=PAYMENT_DATABASE_URL role=payments db=payments_db ;;
    sagas|sagas_db) var=SAGA_DATABASE_URL role=sagas db=sagas_db ;;
    *) die "usage: infra.sh psql events|payments|sagas [psql arguments...]" ;;
  esac
  command -v psql >/dev/null || die "psql is not installed: run scripts/infra.sh install postgres"
  local url=${!var:-postgresql://$role:$role@127.0.0.1:$PG_PORT/$db}
  # SQLAlchemy's driver suffix (postgresql+psycopg://) means nothing to libpq.
  url="postgresql://${url#*://}"
  exec psql "$url" "$@"
}
