"""Header crawl, the ZAP baseline's passive rules as a test (security.md T21).

Every page the matrix (route_table.py) expects a role to open with 200 is fetched as that role over HTTPS,
with the production HSTS setting, and checked: the headers (rule ids of the ZAP baseline in brackets) and,
for HTML, the markup: nothing inline that the Content-Security-Policy would have to allow.
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from tests.security import route_table as T
from tests.security.route_world import Outcome, perform
from tests.security.test_route_matrix import all_cases, roles_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(matrix_world):
    """The module's matrix world (tests/security/conftest.py)."""
    return matrix_world


HSTS = {"SECURE_HSTS_SECONDS": 31_536_000, "SECURE_HSTS_INCLUDE_SUBDOMAINS": True}
# A 12-digit run standing alone (random tokens such as consent references may hold 12 digits among letters).
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{12}(?![0-9A-Za-z])")
NONCE = re.compile(r"'nonce-([^']+)'")


class MarkupCheck(HTMLParser):
    """Collects what a strict CSP refuses or what must not be in a URL."""

    def __init__(self, nonce: str, session_key: str) -> None:
        super().__init__(convert_charrefs=True)
        self.nonce = nonce
        self.session_key = session_key
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.problems.append(f"inline handler <{tag} {name}=…> [10055 CSP]")
            if name == "style":
                self.problems.append(f"inline style on <{tag}> [10055 CSP]")
            if name in ("href", "src", "action", "formaction") and value:
                if value.strip().lower().startswith("javascript:"):
                    self.problems.append(f"javascript: URL in <{tag} {name}> [10055 CSP]")
                if ID_NUMBER.search(value):
                    self.problems.append(f"a 12-digit ID number in a URL: {value} [10024]")
                if self.session_key and self.session_key in value:
                    self.problems.append(f"the session id in a URL: <{tag} {name}> [10024 / 3.1.1]")
        if tag == "style":
            self.problems.append("<style> block [10055 CSP]")
        data_block = (values.get("type") or "").endswith("json")  # a data block: CSP does not apply, nothing runs
        if tag == "script" and not values.get("src") and not data_block and values.get("nonce") != self.nonce:
            self.problems.append("inline <script> without the request's nonce [10055 CSP]")


def header_problems(outcome: Outcome, *, signed_in: bool) -> list[str]:
    h = outcome.headers
    problems = []
    csp = h.get("content-security-policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    if not csp:
        problems.append("no Content-Security-Policy [10038]")
    elif "sandbox" in directives and "text/html" not in outcome.content_type:
        pass  # a served file: CSP sandbox (T15), nothing in it runs
    else:
        if "'unsafe-inline'" in csp or "'unsafe-eval'" in csp:
            problems.append(f"CSP allows unsafe-inline/unsafe-eval: {csp} [10055]")
        if directives.get("frame-ancestors") != ["'none'"]:
            problems.append("CSP frame-ancestors is not 'none' [10055]")
        if directives.get("object-src") != ["'none'"]:
            problems.append("CSP object-src is not 'none' [10055]")
        if "base-uri" not in directives:
            problems.append("CSP has no base-uri [10055]")
        script_src = directives.get("script-src", [])
        if "'self'" not in script_src or any(not (s == "'self'" or NONCE.fullmatch(s)) for s in script_src):
            problems.append(f"CSP script-src is not 'self' plus a nonce: {script_src} [10055]")
        if "*" in csp.split():
            problems.append("CSP wildcard source [10055]")
    if h.get("x-content-type-options") != "nosniff":
        problems.append("X-Content-Type-Options is not nosniff [10021]")
    if h.get("x-frame-options") != "DENY":
        problems.append("X-Frame-Options is not DENY [10020]")
    if not h.get("referrer-policy"):
        problems.append("no Referrer-Policy")
    if h.get("cross-origin-opener-policy") != "same-origin":
        problems.append("Cross-Origin-Opener-Policy is not same-origin [90004]")
    hsts = h.get("strict-transport-security", "")
    age = re.search(r"max-age=(\d+)", hsts)
    if not age or int(age.group(1)) < 31_536_000 or "includesubdomains" not in hsts.lower():
        problems.append(f"HSTS missing or weak: {hsts!r} [10035]")
    if re.search(r"\d", h.get("server", "")) or "x-powered-by" in h:
        problems.append("Server / X-Powered-By discloses a version [10036, 10037]")
    if "text/" in outcome.content_type and "charset=utf-8" not in outcome.content_type.lower().replace('"', ""):
        problems.append(f"no charset in {outcome.content_type} [10019-ish, 90011]")
    if signed_in:
        cache = h.get("cache-control", "")
        if "no-store" not in cache:
            problems.append(f"personal page cacheable: Cache-Control {cache!r} [10015, 10049]")
    body = outcome.body[:200_000]
    if b"Traceback (most recent call last)" in body or b"Request Method:" in body:
        problems.append("debug output [10023]")
    return problems


def crawl(world) -> tuple[int, int, list[str]]:
    clients: dict = {}
    failures: list[str] = []
    pages = html_pages = 0
    for case in all_cases(world):
        for role in roles_for(case, world, "GET"):
            if case.expected(role, "GET") != 200:
                continue
            outcome = perform(world, clients, role, "GET", case.url, api=case.api, extra={"secure": True})
            if outcome.status != 200:
                failures.append(f"{case.url} as {role}: {outcome.status} (the matrix says 200)")
                continue
            pages += 1
            # Signed in: a session, or an API key or token (the national portal's GETs carry no signature).
            signed_in = world.roles[role].user is not None or bool(world.roles[role].headers)
            problems = header_problems(outcome, signed_in=signed_in)
            if "text/html" in outcome.content_type:
                html_pages += 1
                nonce_match = NONCE.search(outcome.headers.get("content-security-policy", ""))
                client = clients[(role, False)]
                session_key = client.cookies.get(settings.SESSION_COOKIE_NAME)
                checker = MarkupCheck(
                    nonce_match.group(1) if nonce_match else "", session_key.value if session_key else ""
                )
                checker.feed(outcome.body.decode("utf-8", "replace"))
                problems += checker.problems
            if ID_NUMBER.search(case.url):
                problems.append("a 12-digit ID number in the URL [10024]")
            failures += [f"{case.url} [{case.route.key}] as {role}: {p}" for p in dict.fromkeys(problems)]
    return pages, html_pages, failures


def test_every_page_of_every_role_passes_the_baseline_header_and_markup_rules(world):
    with override_settings(**HSTS):
        pages, html_pages, failures = crawl(world)
    if os.environ.get("CRAWL_DUMP"):
        Path(os.environ["CRAWL_DUMP"]).write_text("\n".join(failures))
    assert not failures, f"{len(failures)} problems on {pages} pages:\n" + "\n".join(failures[:120])
    assert pages > 300 and html_pages > 200


def test_the_api_docs_load_nothing_from_another_origin(world):
    """Swagger UI is served from our own static files (drf-spectacular-sidecar), under the same CSP."""
    clients: dict = {}
    outcome = perform(world, clients, "anonymous", "GET", "/api/docs/", api=False, extra={"secure": True})
    assert outcome.status == 200
    body = outcome.body.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', body)
    assert urls and all(u.startswith("/") for u in urls), urls
    assert T.expected(T.ROUTES["api-docs"].get, "anonymous", api_route=False) == 200
