#!/usr/bin/env bash
# `make soak` (security.md T18/T19): sqlmap against the search and filter parameters of the RUNNING dev
# server (`make run`, http://127.0.0.1:8000 unless SQLMAP_URL says otherwise). Loopback only, bounded:
# level 2 / risk 1 (no payloads that write), one thread, at most SQLMAP_MAX_SECONDS (default 600) in all.
# Fails when sqlmap reports an injectable parameter (its per-target log then names it).
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${SQLMAP_URL:-http://127.0.0.1:8000}
OUT=${SQLMAP_OUTPUT:-var/sqlmap}
MAX=${SQLMAP_MAX_SECONDS:-600}
SQLMAP=${SQLMAP:-.venv/bin/sqlmap}

case "$BASE" in
    http://127.0.0.1:*|http://localhost:*) ;;
    *) echo "sqlmap-soak: SQLMAP_URL must be a loopback address, not $BASE" >&2; exit 2 ;;
esac
if ! curl -fsS -o /dev/null --max-time 5 "$BASE/healthz"; then
    echo "sqlmap-soak: nothing answers at $BASE/healthz; start the portal first (make run)" >&2
    exit 2
fi

rm -rf "$OUT"
mkdir -p "$OUT"
# GET parameters that reach the database: the catalogue search (page and API) and its filters.
TARGETS=(
    "$BASE/procedures/?q=kham&sector=x&agency=x&service_level=full&applicant_type=citizen&page=1"
    "$BASE/api/v1/procedures/?q=kham&sector=x&agency=x&service_level=full&applicant_type=citizen&page=1&page_size=5"
    "$BASE/api/v1/procedures/1.003006/"
)
printf '%s\n' "${TARGETS[@]}" > "$OUT/targets.txt"
set +e
timeout --signal=INT --kill-after=30 "$MAX" "$SQLMAP" -m "$OUT/targets.txt" --batch --level 2 --risk 1 \
    --threads 1 --time-sec 2 --timeout 10 --retries 0 --flush-session --disable-coloring \
    --skip-waf --output-dir "$OUT" > "$OUT/sqlmap.out" 2>&1
status=$?
set -e
grep -E "injectable|CRITICAL|testing URL" "$OUT/sqlmap.out" || true
tested=$(grep -c "does not seem to be injectable" "$OUT/sqlmap.out" || true)
if [ "$status" = 124 ]; then
    echo "sqlmap-soak: stopped at the ${MAX}s limit after $tested parameters (SQLMAP_MAX_SECONDS raises it)"
fi

if grep -hE "^Parameter: " "$OUT"/*/log 2>/dev/null; then
    echo "sqlmap-soak: sqlmap found an injectable parameter (see $OUT/*/log)" >&2
    exit 1
fi
echo "sqlmap-soak: no injectable parameter ($tested parameters tested in ${#TARGETS[@]} URLs; log: $OUT/sqlmap.out)"
