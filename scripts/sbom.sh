#!/usr/bin/env bash
# `make sbom` (security.md T24, decision 0059): what a production machine installs, and its SBOM.
#   1. the runtime pins alone (requirements.txt with constraints.txt) into a fresh virtual environment;
#   2. `pip check` there, and every installed distribution pinned exactly in constraints.txt;
#   3. a CycloneDX SBOM (JSON) of that environment, written to $SBOM_OUT (default var/sbom.json), by
#      cyclonedx-bom from its own environment ($SBOM_TOOL, made by `make sbom` from requirements-sbom.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

BOOTSTRAP_PYTHON=${BOOTSTRAP_PYTHON:-python3}
SBOM_TOOL=${SBOM_TOOL:-.venv/sbom}
RUNTIME=${SBOM_RUNTIME:-.venv/sbom-runtime}
OUT=${SBOM_OUT:-var/sbom.json}
PIP_ARGS=(--disable-pip-version-check --no-input --quiet)

rm -rf "$RUNTIME"
"$BOOTSTRAP_PYTHON" -m venv "$RUNTIME"
"$RUNTIME/bin/python" -m pip install "${PIP_ARGS[@]}" -c constraints.txt -r requirements.txt
"$RUNTIME/bin/python" -m pip check
"$RUNTIME/bin/python" scripts/pins_check.py constraints.txt

mkdir -p "$(dirname "$OUT")"
# The root component's dependencies are dynamic in pyproject.toml (read from requirements.txt), which
# cyclonedx-bom reports as an incomplete graph: a known, harmless warning.
PYTHONWARNINGS=ignore::UserWarning "$SBOM_TOOL/bin/cyclonedx-py" environment \
    --pyproject pyproject.toml --mc-type application --output-reproducible --of JSON -o "$OUT" "$RUNTIME"
"$RUNTIME/bin/python" - "$OUT" <<'PY'
import json, sys
bom = json.load(open(sys.argv[1], encoding="utf-8"))
root = bom["metadata"]["component"]
print(f"SBOM {sys.argv[1]}: CycloneDX {bom['specVersion']}, {root['name']} {root['version']}, "
      f"{len(bom['components'])} components")
PY
