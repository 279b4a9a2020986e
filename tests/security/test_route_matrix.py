"""Access-control matrix over every URL pattern (security.md T07, T09, T11).

Every pattern of get_resolver() × every role × GET (and POST) against the hand-written table in
route_table.py; object URLs carry citizen A's / agency A's objects. Also: a refusal (403/404) shows nothing
of A; a GET writes nothing but the tables listed in GET_MAY_WRITE; a POST without a CSRF token is refused.
Each request runs in a transaction that is rolled back, so no request changes what the next one sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from tests.security import route_table as T
from tests.security.route_kwargs import QUERIES, admin_model, admin_url, kwargs_for
from tests.security.route_world import (
    Outcome,
    Route,
    World,
    perform,
    routes_all,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(matrix_world):
    """The module's matrix world (tests/security/conftest.py)."""
    return matrix_world


# Tables a GET may write, and why. Anything else written during a GET fails the matrix.
GET_MAY_WRITE = {
    "django_session": "the session's last-seen time (idle timeout, at most once a minute) and sign-in state",
    "portal_auditrecord": "personal-data reads are audited (who opened whose dossier or document)",
    "portal_auditchainhead": "the audit trail's hash-chain head, written with every audit record",
    "facilities_facilitycredential": "last use of a facility system's API key (like a session's last-seen time)",
}
# State-changing routes that do not take a CSRF token, and why.
CSRF_EXEMPT = {
    "citizens:payment-callback": "server-to-server callback of the payment service, checked by its HMAC signature",
}
REFUSALS = (401, 403, 404, 405)


# --- which rule applies to a pattern ----------------------------------------------------------------------


@dataclass
class Case:
    route: Route
    url: str
    api: bool
    entry: T.Entry | None = None  # a route of the table
    admin_family: str = ""  # or an admin model page
    admin_model: str = ""
    has_object: bool = True

    def expected(self, role: str, method: str) -> Any:
        if self.admin_family:
            return T.admin_expected(self.admin_family, self.admin_model, role, method, has_object=self.has_object)
        spec = self.entry.get if method == "GET" else self.entry.post
        admin_site_page = self.route.pattern.startswith("admin/") and self.route.key != "admin:login"
        if admin_site_page and role not in T.ALL_STAFF and "*" not in spec and role not in spec:
            return T.ADMIN_LOGIN
        return T.expected(spec, role, api_route=self.api)


ADMIN_NAME = re.compile(r"^admin:[a-z]+_[a-z]+_(changelist|add|history|delete|change)$")


def case_for(route: Route, objects: dict[str, Any]) -> Case | None:
    """The table's rule for ROUTE, or None when there is none."""
    if route.pattern.startswith("admin/"):
        url = admin_url(route.pattern, objects)
        if route.key in T.ADMIN_SITE:
            return Case(route, url, api=False, entry=T.ADMIN_SITE[route.key])
        match = ADMIN_NAME.match(route.key)
        family = match.group(1) if match else ("object" if route.name is None else "")
        model = admin_model(route.pattern)
        if not family or model is None:
            return None
        has_object = model._default_manager.exists()
        return Case(
            route, url, api=False, admin_family=family, admin_model=model._meta.label_lower, has_object=has_object
        )
    entry = T.ROUTES.get(route.key)
    if entry is None:
        return None
    url = reverse(route.name, kwargs=kwargs_for(route.name, objects)) if route.name else "/" + route.pattern
    if QUERIES.get(route.key):
        url += "?" + QUERIES[route.key]
    return Case(route, url, api=route.pattern.startswith("api/"), entry=entry)


def roles_for(case: Case, world: World, method: str) -> list[str]:
    """Session roles everywhere; API client roles on /api/ routes (elsewhere they are anonymous by construction).

    Admin patterns: T.ADMIN_ROLES (the other roles on T.ADMIN_SAMPLE); the POST of a read-only route:
    T.READ_ONLY_POST_ROLES.
    """
    roles = [key for key, role in world.roles.items() if case.api or not role.api]
    if case.route.pattern.startswith("admin/") and case.route.key not in T.ADMIN_SAMPLE:
        return [r for r in roles if r in T.ADMIN_ROLES]
    if method == "POST" and case.entry is not None and case.entry.post in (T.GET_ONLY, T.PUBLIC_GET_ONLY):
        return [r for r in roles if r in T.READ_ONLY_POST_ROLES]
    return roles


def matches(expected: Any, outcome: Outcome, objects: dict[str, Any]) -> bool:
    if expected == T.LOGIN:
        return outcome.status == 302 and outcome.location.startswith("/accounts/login/")
    if expected == T.ADMIN_LOGIN:
        return outcome.status == 302 and outcome.location.startswith("/admin/login/")
    if isinstance(expected, tuple):
        status, place = expected
        return outcome.status == status and outcome.location.startswith(place.format(**objects))
    return outcome.status == expected


def shown(outcome: Outcome) -> str:
    return f"{outcome.status} {outcome.location}".strip()


def leaks(world: World, role: str, url: str, outcome: Outcome) -> list[str]:
    """Citizen A's strings in a refusal given to someone else (what the caller typed in the URL excepted)."""
    if outcome.status not in REFUSALS or role in T.A_DATA_ROLES:
        return []
    body = outcome.body.decode("utf-8", "replace")
    return [secret for secret in world.secrets if secret and secret not in url and secret in body]


def all_cases(world: World) -> list[Case]:
    cases = []
    for route in routes_all():
        case = case_for(route, world.objects)
        assert case is not None, f"no matrix entry for {route.key}"
        cases.append(case)
    return cases


def run(world: World, cases: list[Case], method: str, *, csrf_token: bool = True) -> tuple[int, list[str]]:
    clients: dict = {}
    failures: list[str] = []
    count = 0
    for case in cases:
        if method == "POST" and case.admin_family and case.admin_family not in T.ADMIN_POST_FAMILIES:
            continue
        for role in roles_for(case, world, method):
            expected = case.expected(role, method)
            outcome = perform(world, clients, role, method, case.url, api=case.api, csrf_token=csrf_token)
            count += 1
            where = f"{method} {case.url} [{case.route.key}] as {role}"
            if not matches(expected, outcome, world.objects):
                failures.append(f"{where}: expected {expected}, got {shown(outcome)}")
            leaked = leaks(world, role, case.url, outcome)
            if leaked:
                failures.append(f"{where}: the {outcome.status} answer shows {leaked}")
            if method == "GET":
                written = sorted(set(outcome.writes) - set(GET_MAY_WRITE))
                if written:
                    failures.append(f"{where}: the GET wrote to {written}")
    return count, failures


def report(failures: list[str]) -> str:
    return f"{len(failures)} mismatches:\n" + "\n".join(failures[:80])


# --- the tests --------------------------------------------------------------------------------------------


def test_every_route_has_an_entry_and_every_entry_a_route(world):
    routes = routes_all()
    missing = [r.key for r in routes if case_for(r, world.objects) is None]
    assert not missing, (
        "URL patterns without a matrix entry (add them to tests/security/route_table.py):\n" + "\n".join(missing)
    )
    keys = {r.key for r in routes}
    stale = sorted((set(T.ROUTES) | set(T.ADMIN_SITE)) - keys)
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"
    assert len({r.key for r in routes}) == len(routes), "two patterns share a key"


def test_every_route_answers_each_role_as_the_table_says_for_get(world):
    count, failures = run(
        world, [c for c in all_cases(world) if not c.admin_family and not c.route.pattern.startswith("admin/")], "GET"
    )
    assert not failures, report(failures)
    assert count > 1500


def test_every_route_answers_each_role_as_the_table_says_for_post(world):
    count, failures = run(world, [c for c in all_cases(world) if not c.route.pattern.startswith("admin/")], "POST")
    assert not failures, report(failures)
    assert count > 1500


def test_every_admin_page_answers_each_role_as_its_family_rule_says(world):
    cases = [c for c in all_cases(world) if c.route.pattern.startswith("admin/")]
    count, failures = run(world, cases, "GET")
    post_count, post_failures = run(world, cases, "POST")
    assert not failures + post_failures, report(failures + post_failures)
    assert count + post_count > 1000


def test_a_post_without_a_csrf_token_is_refused_on_every_state_changing_route(world):
    """A signed-in caller who may use the route, and citizen B, are refused without the token (403)."""
    clients: dict = {}
    failures: list[str] = []
    checked = 0
    for case in all_cases(world):
        if case.route.key in CSRF_EXEMPT:
            continue
        if case.entry is not None and case.entry.post in (T.GET_ONLY, T.PUBLIC_GET_ONLY):
            continue  # read-only routes
        allowed = [
            role
            for role in T.SIGNED_IN
            if case.expected(role, "POST") not in (T.LOGIN, T.ADMIN_LOGIN, 401, 403, 404, 405)
        ]
        # On the API only session callers carry cookies (and DRF checks their token); key-signed callers have none.
        for role in allowed[:1] if case.api else [*allowed[:1], "citizen_b"]:
            outcome = perform(world, clients, role, "POST", case.url, api=case.api, csrf_token=False)
            checked += 1
            # citizen B may be turned away before the CSRF check by a layer that refuses him anyway (404)
            if outcome.status != 403 and not (role == "citizen_b" and outcome.status == 404):
                failures.append(f"POST {case.url} [{case.route.key}] as {role} without a token: {shown(outcome)}")
    assert not failures, report(failures)
    assert checked > 100
