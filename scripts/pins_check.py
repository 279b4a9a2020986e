"""Every installed distribution pinned exactly in constraints.txt (security.md T24, decision 0059).

Run with the Python of the environment to check: ``<venv>/bin/python scripts/pins_check.py constraints.txt``
exits 1 and lists what is installed but not pinned (or pinned to another version). The venv's own
installers (pip, setuptools, wheel) are not project dependencies. Standard library only.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

BOOTSTRAP = {"pip", "setuptools", "wheel"}


def name_normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins_read(path: Path) -> dict[str, str]:
    """name -> version of every ``name==version`` line (extras and comments ignored)."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name_normalise(name.split("[", 1)[0])] = version.strip()
    return pins


def unpinned(distributions, pins: dict[str, str]) -> list[str]:
    """Distributions whose exact version is not the pinned one, as 'name==version (pinned: ...)'."""
    found = []
    for dist in distributions:
        name = name_normalise(dist.metadata["Name"])
        if name not in BOOTSTRAP and pins.get(name) != dist.version:
            found.append(f"{dist.metadata['Name']}=={dist.version} (pinned: {pins.get(name, 'no')})")
    return sorted(found)


def main() -> int:
    constraints = Path(sys.argv[1] if len(sys.argv) > 1 else "constraints.txt")
    offenders = unpinned(metadata.distributions(), pins_read(constraints))
    for offender in offenders:
        print(f"not pinned in {constraints}: {offender}", file=sys.stderr)
    count = sum(1 for dist in metadata.distributions() if name_normalise(dist.metadata["Name"]) not in BOOTSTRAP)
    print(f"{count} installed distributions, {len(offenders)} not pinned exactly in {constraints}")
    return 1 if offenders else 0


if __name__ == "__main__":
    sys.exit(main())
