"""T18: the local semgrep rules (.semgrep/, decision 0068) fire on their bad samples and stay quiet on the good.

semgrep runs from its own virtual environment (.venv/semgrep, requirements-semgrep.txt); `make semgrep-venv`
builds it when it is missing (CI builds it earlier in `make security`), so these tests never skip. Only local
rules are used: no registry configuration, no metrics, no version check (the machines are offline).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

BASE_DIR = Path(__file__).resolve().parents[2]
RULES_DIR = BASE_DIR / ".semgrep"
SEMGREP = BASE_DIR / ".venv" / "semgrep" / "bin" / "semgrep"
OFFLINE = ["--metrics", "off", "--disable-version-check"]
SHIPPED_DIRS = ["citizens", "facilities", "integrations", "places", "portal", "privacy", "procedures", "quality"]


@pytest.fixture(scope="module")
def semgrep() -> Path:
    """The semgrep executable; `make semgrep-venv` builds its environment (a no-op when it is up to date)."""
    subprocess.run(["make", "semgrep-venv"], cwd=BASE_DIR, check=True, timeout=600)
    assert SEMGREP.exists()
    return SEMGREP


def rule_ids() -> dict[str, str]:
    """rule id -> the rule file's stem, for every rule in .semgrep/."""
    ids = {}
    for path in sorted(RULES_DIR.glob("*.yml")):
        for rule in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]:
            assert rule["id"] not in ids, f"duplicate rule id {rule['id']}"
            assert len(rule["message"]) > 80, f"{rule['id']}: the message must say why"
            ids[rule["id"]] = path.stem
    return ids


def annotations(kind: str) -> dict[str, int]:
    """rule id -> how many `kind` (ruleid / ok) annotations the samples beside the rules hold."""
    counts: dict[str, int] = {}
    for path in RULES_DIR.iterdir():
        if path.suffix in {".yml", ".yaml"} or not path.is_file():
            continue
        for match in re.finditer(rf"\b{kind}: ([\w-]+)", path.read_text(encoding="utf-8")):
            counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    return counts


def test_every_rule_has_bad_and_good_samples():
    ids = rule_ids()
    assert len(ids) >= 15
    bad, good = annotations("ruleid"), annotations("ok")
    assert sorted(bad) == sorted(ids)
    assert sorted(good) == sorted(ids)


def test_semgrep_test_mode_passes_on_the_annotated_samples(semgrep):
    """Each `ruleid:` line is reported and no `ok:` line is (semgrep's own rule-test mode)."""
    # Run from inside .semgrep/: semgrep skips hidden folders as targets.
    result = subprocess.run(
        [str(semgrep), "scan", "--test", *OFFLINE, "--json", "."],
        cwd=RULES_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads(result.stdout)
    passed = {
        rule_id
        for checks in report["results"].values()
        for rule_id, check in checks["checks"].items()
        if check["passed"]
    }
    assert {rule_id.rsplit(".", 1)[-1] for rule_id in passed} == set(rule_ids())


def test_the_scan_fails_on_the_bad_samples_outside_the_rules_folder(semgrep, tmp_path):
    """The scan `make security` runs exits non-zero (--error) and names every rule when the samples are code."""
    for name in ("python.py", "settings.py", "templates.html"):
        shutil.copy(RULES_DIR / name, tmp_path / name)
    result = subprocess.run(
        [str(semgrep), "scan", "--config", str(RULES_DIR), "--error", *OFFLINE, "--no-git-ignore", "--json", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr[-4000:]
    found = {finding["check_id"].rsplit(".", 1)[-1] for finding in json.loads(result.stdout)["results"]}
    assert found == set(rule_ids())


def test_every_waiver_in_the_shipped_code_names_a_rule_and_a_reason():
    ids = set(rule_ids())
    waivers = []
    for folder in SHIPPED_DIRS:
        for path in (BASE_DIR / folder).rglob("*"):
            if path.suffix not in {".py", ".html"}:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if "nosemgrep" in line:
                    waivers.append((f"{path.relative_to(BASE_DIR)}:{number}", line.strip()))
    assert waivers  # the SQL identifiers from model _meta and the escaped chart SVG
    for where, line in waivers:
        match = re.search(r"# nosemgrep: ([\w-]+)  (\S.{10,})$", line)
        assert match, f"{where}: `# nosemgrep: <rule-id>  <reason>` expected"
        assert match.group(1) in ids, f"{where}: unknown rule {match.group(1)}"
