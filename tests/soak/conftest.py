"""Soak and fault runs (security.md tier S): collected only by `make soak` (PORTAL_SOAK=1), never by `make test`.

Each run is bounded in time (docs/soak.md); they are not collected at all otherwise, so `make test` reports no
skips for them.
"""

import os

if os.environ.get("PORTAL_SOAK", "") != "1":
    collect_ignore_glob = ["test_*.py"]
