#!/usr/bin/env bash
# `make check-messages`: fail when the committed message catalogues are stale.
#  1. makemessages runs in a temporary copy of the tree; its .po files must equal the committed
#     ones, POT-Creation-Date aside (that header changes on every run).
#  2. the committed .po files are compiled there; the .mo files must equal the committed ones.
# The Makefile passes PY, I18N_ENV, MAKEMESSAGES_ARGS and COMPILEMESSAGES_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PY:?}" "${I18N_ENV:?}" "${MAKEMESSAGES_ARGS:?}" "${COMPILEMESSAGES_ARGS:?}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The source tree without the environment, local state and VCS data.
tar --exclude=./.venv --exclude=./var --exclude=./.git --exclude=./node_modules \
    --exclude='*/__pycache__' --exclude=./.pytest_cache --exclude=./.ruff_cache -cf - . | tar -xf - -C "$tmp"
rm -f "$tmp"/locale/*/LC_MESSAGES/*.mo

# shellcheck disable=SC2086  # the argument strings are word lists on purpose
(cd "$tmp" && env $I18N_ENV "$PY" manage.py makemessages -v 0 $MAKEMESSAGES_ARGS)

status=0
if ! diff -ru -I '^"POT-Creation-Date: ' --exclude='*.mo' locale "$tmp/locale"; then
    echo "The .po files are stale: run \`make messages\` and commit locale/." >&2
    status=1
fi

# Compile what is committed (not what was regenerated) and compare byte for byte.
rm -rf "$tmp/locale"
cp -a locale "$tmp/locale"
rm -f "$tmp"/locale/*/LC_MESSAGES/*.mo
# shellcheck disable=SC2086
(cd "$tmp" && env $I18N_ENV "$PY" manage.py compilemessages -v 0 $COMPILEMESSAGES_ARGS)
for mo in "$tmp"/locale/*/LC_MESSAGES/*.mo; do
    [ -e "$mo" ] || continue
    committed=${mo#"$tmp"/}
    if ! cmp -s "$mo" "$committed"; then
        echo "$committed is missing or not compiled from its .po: run \`make messages\` and commit locale/." >&2
        status=1
    fi
done
for mo in locale/*/LC_MESSAGES/*.mo; do
    [ -e "$mo" ] || continue
    if [ ! -e "$tmp/$mo" ]; then
        echo "$mo has no .po file next to it." >&2
        status=1
    fi
done

if [ "$status" = 0 ]; then
    echo "Message catalogues are current."
fi
exit "$status"
