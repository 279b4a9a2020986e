#!/usr/bin/env bash
# .ci/services.sh: source it (from .ci/run). Makes PostgreSQL and Redis answer on loopback.
#
# - PostgreSQL: a server on 127.0.0.1:${PGPORT:-5432} that lets `postgres` in without a password
#   (trust) is used as it is; otherwise a private throw-away cluster (initdb as user postgres,
#   trust, fsync off) is started on a free port.
# - Redis: a server answering PING on 127.0.0.1:${REDIS_PORT:-6379} is used; otherwise a private
#   one (no persistence) is started on a free port.
# - The application connects as role `portal` (LOGIN CREATEDB NOSUPERUSER) to database `portal`,
#   both created when missing. Exports DATABASE_URL, CELERY_BROKER_URL and PG_BIN.
# - cleanup_services (trapped on EXIT) stops what this script started and removes its folder.
#
# Errors are checked explicitly: the caller may source this inside `cmd || ...`, where `set -e`
# does not apply.

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
export PG_BIN
SERVICES_RUNDIR=$(mktemp -d /tmp/portal-services.XXXXXX)
chmod 755 "$SERVICES_RUNDIR"  # user postgres must traverse it (mktemp makes it 0700)
STOP_PG=""
STOP_REDIS=""

cleanup_services() {
    if [ -n "$STOP_PG" ]; then
        echo "services: stopping the private PostgreSQL"
        eval "$STOP_PG" >/dev/null 2>&1 || true
    fi
    if [ -n "$STOP_REDIS" ]; then
        echo "services: stopping the private Redis"
        eval "$STOP_REDIS" >/dev/null 2>&1 || true
    fi
    STOP_PG=""
    STOP_REDIS=""
    rm -rf "$SERVICES_RUNDIR"
}
trap cleanup_services EXIT
trap 'exit 130' INT TERM

_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
_free_port() {
    local port=$1
    while _port_open "$port"; do port=$((port + 1)); done
    echo "$port"
}
_psql_admin() { psql -w -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"; }

start_services() {
    # --- PostgreSQL ---
    PG_PORT=${PGPORT:-5432}
    if psql -w -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
        echo "services: PostgreSQL answers on 127.0.0.1:$PG_PORT (trust), using it"
    else
        [ -x "$PG_BIN/initdb" ] || { echo "services: no initdb under /usr/lib/postgresql (apt-get install postgresql)" >&2; return 1; }
        PG_PORT=$(_free_port "${PG_FALLBACK_PORT:-5433}")
        echo "services: no trust PostgreSQL on 127.0.0.1:${PGPORT:-5432}; starting a private cluster on $PG_PORT"
        mkdir -p "$SERVICES_RUNDIR/pg" && chown postgres: "$SERVICES_RUNDIR/pg" || return 1
        runuser -u postgres -- "$PG_BIN/initdb" -D "$SERVICES_RUNDIR/pg/data" -A trust -U postgres -E UTF8 \
            --locale=C.UTF-8 >"$SERVICES_RUNDIR/pg/initdb.log" 2>&1 \
            || { cat "$SERVICES_RUNDIR/pg/initdb.log" >&2; return 1; }
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$SERVICES_RUNDIR/pg/data" -l "$SERVICES_RUNDIR/pg/log" -w \
            -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$SERVICES_RUNDIR/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null || { cat "$SERVICES_RUNDIR/pg/log" >&2; return 1; }
        STOP_PG="runuser -u postgres -- $PG_BIN/pg_ctl -D $SERVICES_RUNDIR/pg/data -m fast -w stop"
    fi

    # The application role: never a superuser (security.md T25); CREATEDB for the test database.
    _psql_admin <<'SQL' || { echo "services: cannot create role portal" >&2; return 1; }
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'portal') THEN
        CREATE ROLE portal LOGIN CREATEDB NOSUPERUSER NOCREATEROLE;
    ELSE
        ALTER ROLE portal LOGIN CREATEDB NOSUPERUSER NOCREATEROLE;
    END IF;
END
$$;
SQL
    if [ "$(_psql_admin -Atc "select 1 from pg_database where datname = 'portal'")" != 1 ]; then
        _psql_admin -c 'CREATE DATABASE portal OWNER portal' || return 1
    fi
    local is_super
    is_super=$(psql -w -X -h 127.0.0.1 -p "$PG_PORT" -U portal -d portal -Atc \
        'select rolsuper from pg_roles where rolname = current_user') \
        || { echo "services: role portal cannot connect to database portal" >&2; return 1; }
    [ "$is_super" = f ] || { echo "services: role portal is a superuser" >&2; return 1; }
    echo "services: database portal, role portal (superuser: $is_super)"

    # --- Redis ---
    local redis_port=${REDIS_PORT:-6379}
    if [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ]; then
        echo "services: Redis answers on 127.0.0.1:$redis_port, using it"
    else
        command -v redis-server >/dev/null || { echo "services: no redis-server (apt-get install redis-server)" >&2; return 1; }
        redis_port=$(_free_port "${REDIS_FALLBACK_PORT:-6380}")
        echo "services: no Redis on 127.0.0.1:${REDIS_PORT:-6379}; starting a private one on $redis_port"
        redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --daemonize yes \
            --pidfile "$SERVICES_RUNDIR/redis.pid" --logfile "$SERVICES_RUNDIR/redis.log" --dir "$SERVICES_RUNDIR" \
            || return 1
        STOP_REDIS="redis-cli -h 127.0.0.1 -p $redis_port shutdown nosave"
        local _i
        for _i in $(seq 50); do
            [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ] && break
            sleep 0.1
        done
        [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ] \
            || { cat "$SERVICES_RUNDIR/redis.log" >&2; return 1; }
    fi

    export DATABASE_URL="postgres://portal@127.0.0.1:$PG_PORT/portal"
    export CELERY_BROKER_URL="redis://127.0.0.1:$redis_port/0"
    echo "services: DATABASE_URL=$DATABASE_URL"
    echo "services: CELERY_BROKER_URL=$CELERY_BROKER_URL"
}

start_services
