#!/usr/bin/env bash
# `make run` (after `make system-check install`): prepare the local state, print where to sign
# in, and start every process of Procfile.dev with honcho. Ctrl-C stops them all.
#
# Local defaults: DEBUG=true (development secrets), SQLite in var/db.sqlite3, Celery on kombu's
# filesystem transport in var/broker/ (no Redis or PostgreSQL needed). DATABASE_URL and
# CELERY_BROKER_URL still switch to PostgreSQL / Redis when set.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

export PATH="$ROOT/.venv/bin:$PATH"
export DEBUG=true
export PYTHONUNBUFFERED=1
export DJANGO_SETTINGS_MODULE=portal.settings.base
export PORT=${PORT:-8000}
SIMULATOR_PORTS=(8101 8102)  # Procfile.dev: VNeID, national portal
VAR_DIR=${PORTAL_VAR_DIR:-$ROOT/var}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# 1. Nothing else may hold our ports (a second `make run`, an old simulator).
busy=$(python - "$PORT" "${SIMULATOR_PORTS[@]}" <<'EOF'
import socket, sys
for port in sys.argv[1:]:
    with socket.socket() as s:
        s.settimeout(0.3)
        if s.connect_ex(("127.0.0.1", int(port))) == 0:
            print(port, end=" ")
EOF
)
if [ -n "$busy" ]; then
    echo "Port(s) in use on 127.0.0.1: $busy- stop what listens there (another make run?) or set PORT=..." >&2
    exit 1
fi

# 2. Local state: broker folders (filesystem transport), media, database, demo data, static files.
mkdir -p "$VAR_DIR/broker/queue" "$VAR_DIR/broker/processed" "$VAR_DIR/media"

say "Migrating the database"
python manage.py migrate --noinput

say "Loading the demo data"
python manage.py load_demo_data
python manage.py signing_demo_key

# runserver serves /static/ from the source folders while DEBUG is on; collecting once only
# keeps WhiteNoise from warning about a missing STATIC_ROOT.
STATIC_ROOT_DIR=${STATIC_ROOT:-$VAR_DIR/static}
if [ ! -d "$STATIC_ROOT_DIR" ]; then
    say "Collecting static files"
    python manage.py collectstatic --noinput -v 0
fi

# 3. Where to go and who to be.
python scripts/demo_logins.py

# 4. web, worker, beat and both simulators; honcho stops all of them on Ctrl-C.
say "Starting Procfile.dev (Ctrl-C stops everything)"
exec honcho -f Procfile.dev start -p "$PORT"
