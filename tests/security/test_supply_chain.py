"""T24: every dependency pinned exactly (decision 0059). `make sbom` proves the same on a fresh install of the
runtime pins, with `pip check` and the SBOM; this test checks the requirement files and this environment."""

from __future__ import annotations

import importlib.util
import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

BASE_DIR = Path(__file__).resolve().parents[2]
REQUIREMENT_FILES = ("requirements.txt", "requirements-dev.txt", "requirements-sbom.txt")

_spec = importlib.util.spec_from_file_location("pins_check", BASE_DIR / "scripts" / "pins_check.py")
pins_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pins_check)


def requirements(file_name: str) -> list[Requirement]:
    lines = (BASE_DIR / file_name).read_text(encoding="utf-8").splitlines()
    return [Requirement(line.split("#", 1)[0].strip()) for line in lines if line.split("#", 1)[0].strip()]


def test_every_requirement_is_an_exact_pin_that_constraints_repeat():
    pins = pins_check.pins_read(BASE_DIR / "constraints.txt")
    wrong = []
    for file_name in REQUIREMENT_FILES:
        for requirement in requirements(file_name):
            specifiers = list(requirement.specifier)
            exact = len(specifiers) == 1 and specifiers[0].operator == "=="
            name = pins_check.name_normalise(requirement.name)
            if not exact or pins.get(name) != specifiers[0].version:
                wrong.append(f"{file_name}: {requirement} (constraints.txt: {pins.get(name, 'missing')})")
    assert wrong == []


def installed_closure(roots: list[Requirement]) -> dict[str, metadata.Distribution]:
    """The installed distributions ROOTS need, following each one's requirements (markers and extras)."""
    found: dict[str, metadata.Distribution] = {}
    pending = [(root, set(root.extras)) for root in roots]
    while pending:
        requirement, extras = pending.pop()
        name = pins_check.name_normalise(requirement.name)
        if name in found:
            continue
        dist = metadata.distribution(requirement.name)
        found[name] = dist
        for line in dist.requires or []:
            child = Requirement(line)
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if child.marker is None or any(child.marker.evaluate(env) for env in environments):
                pending.append((child, set(child.extras)))
    return found


def test_every_installed_dependency_of_the_portal_and_its_tests_is_pinned_exactly():
    roots = requirements("requirements.txt") + requirements("requirements-dev.txt")
    closure = installed_closure(roots)
    pins = pins_check.pins_read(BASE_DIR / "constraints.txt")

    assert len(closure) > len(roots)  # transitive dependencies were followed
    assert pins_check.unpinned(closure.values(), pins) == []
    assert not re.search(r"^\s*-e\s|git\+|https?://", (BASE_DIR / "constraints.txt").read_text(), re.M)
