#!/usr/bin/env bash
# `make deploy-check`: Django's deployment checklist (and the portal's own deploy checks) with the
# production variables of docs/production.env.example; warnings count as failures.
# The check sees only those variables (a clean environment, as a production start has), with
# throw-away random values for the secrets left blank in the example. DATABASE_URL stays the
# current one when set; the check does not connect to the database.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DEPLOY_CHECK_CLEAN_ENV:-}" ]; then
    exec env -i DEPLOY_CHECK_CLEAN_ENV=1 PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 \
        PY="${PY:-.venv/bin/python}" CURRENT_DATABASE_URL="${DATABASE_URL:-}" "$0" "$@"
fi

set -a
# shellcheck source=../docs/production.env.example
. docs/production.env.example
set +a
if [ -n "$CURRENT_DATABASE_URL" ]; then
    DATABASE_URL=$CURRENT_DATABASE_URL
fi
unset CURRENT_DATABASE_URL DEPLOY_CHECK_CLEAN_ENV

random() { "$PY" -c 'import secrets; print(secrets.token_urlsafe(64))'; }
[ -n "$SECRET_KEY" ] || SECRET_KEY=$(random)
[ -n "$PII_HASH_KEY" ] || PII_HASH_KEY=$(random)
[ -n "$VNEID_CLIENT_SECRET" ] || VNEID_CLIENT_SECRET=$(random)
[ -n "$NATIONAL_PORTAL_PASSWORD" ] || NATIONAL_PORTAL_PASSWORD=$(random)
[ -n "$REDIS_PASSWORD" ] || REDIS_PASSWORD=$(random)
[ -n "$PII_ENCRYPTION_KEYS" ] || PII_ENCRYPTION_KEYS=$("$PY" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')
# The example's folders need not exist on this machine.
PORTAL_VAR_DIR=$(mktemp -d)
STATIC_ROOT=$PORTAL_VAR_DIR/static
MEDIA_ROOT=$PORTAL_VAR_DIR/media
trap 'rm -rf "$PORTAL_VAR_DIR"' EXIT

echo "manage.py check --deploy --fail-level WARNING, variables of docs/production.env.example"
"$PY" manage.py check --deploy --fail-level WARNING
