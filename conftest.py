"""Root conftest: suite-wide plumbing (CI policy on skips, Playwright on Debian's Chromium, fixtures).

Personas and catalogue fixtures live in tests/conftest.py; the shared simulator fixtures live in
tests/fixtures/ and are registered at the end of this file so every test directory sees them.
"""

from __future__ import annotations

import os
import shutil

import pytest

# Playwright's sync API keeps an asyncio loop running in the main thread; without this Django's
# ORM raises SynchronousOnlyOperation inside tests that also use `page`.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# --- In CI a skipped test is a failed test ---------------------------------------------------
# A skip hides a missing service or package (Chromium, PostgreSQL, Redis) behind a green run.


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


_skipped: list[tuple[str, str]] = []


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append((report.nodeid, _skip_reason(report)))


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:
        _skipped.append((report.nodeid, _skip_reason(report)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _in_ci() and _skipped and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not (_in_ci() and _skipped):
        return
    terminalreporter.section("skipped tests fail the run in CI (CI=true)", sep="=", red=True, bold=True)
    for nodeid, reason in _skipped:
        terminalreporter.line(f"SKIPPED {nodeid}: {reason}", red=True)
    terminalreporter.line(f"{len(_skipped)} skipped: install what they need or remove the skip.", red=True)


# --- Playwright on Debian's Chromium (never `playwright install`) ------------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium, or set CHROMIUM_PATH)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "vi-VN", "viewport": {"width": 1280, "height": 800}}


# --- Shared fixtures ---------------------------------------------------------------------------
# Registered as plugins here, in the root conftest, so every test directory sees them and pytest
# rewrites their asserts. (A plain `from tests.fixtures.x import fixture` would import them before
# pytest can rewrite them, and test modules that also list them in `pytest_plugins` then trigger
# PytestAssertRewriteWarning.) tests.fixtures.national_portal: national_portal_simulator;
# tests.fixtures.vneid: vneid_simulator.
pytest_plugins = [
    "tests.fixtures.national_portal",
    "tests.fixtures.vneid",
    "tests.fixtures.population_registry",
]
