#!/usr/bin/env bash
# Check the Debian packages that `make run` needs: WeasyPrint's Pango libraries, fontconfig and
# fonts with full Vietnamese coverage (fonts-liberation2, not bookworm's fonts-liberation 1.07),
# and python3-venv when .venv is still to be created with Debian's Python.
# As root on Debian the missing ones are installed with apt-get; otherwise the exact command is
# printed and the script fails. SKIP_SYSTEM_CHECK=1 skips the check (e.g. on another OS).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${SKIP_SYSTEM_CHECK:-}" = 1 ]; then
    exit 0
fi

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-liberation2 fonts-dejavu-core)

# Debian's own Python needs python3-venv for `python3 -m venv` (ensurepip is split out).
bootstrap=${BOOTSTRAP_PYTHON:-$(command -v python3.11 || command -v python3 || true)}
if [ ! -x .venv/bin/python ] && [ -n "$bootstrap" ] && [[ "$(readlink -f "$bootstrap")" == /usr/bin/* ]]; then
    packages+=(python3-venv)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "Not a Debian system: cannot check the system libraries. WeasyPrint (PDF slips) needs Pango >= 1.44"
    echo "and fonts with Vietnamese glyphs (Liberation 2.x, DejaVu); see docs/operations.md."
    exit 0
fi

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "Missing system packages: ${missing[*]}" >&2
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing them with apt-get (running as root on Debian) ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
    exit 0
fi

cat >&2 <<EOF
Install them, then run make again:

    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}

(or set SKIP_SYSTEM_CHECK=1 to start without them; PDF slips will then fail to render)
EOF
exit 1
