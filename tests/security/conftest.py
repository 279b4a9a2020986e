"""Fixtures of the security baseline tests (issue 11)."""

from __future__ import annotations

import pytest
from django.test import Client

LOGIN_URL = "/accounts/login/"
STAFF_PASSWORD = "staff-password-2026"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """allauth's per-IP request limits live in the cache, which outlives a test's database transaction."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def sign_in(client: Client, login: str, password: str, *, ip: str = "203.0.113.7"):
    """POST allauth's sign-in form from a given client address."""
    return client.post(LOGIN_URL, {"login": login, "password": password}, REMOTE_ADDR=ip)


MFA_URL = "/accounts/2fa/authenticate/"


def sign_in_with_code(client: Client, login: str, password: str, *, code: str | None = None, ip: str = "203.0.113.7"):
    """The whole staff sign-in: the password, then the TOTP code (the current one of the test seed by default)."""
    from tests.conftest import totp_code

    first = sign_in(client, login, password, ip=ip)
    if first.status_code != 302 or first["Location"] != MFA_URL:
        return first
    return client.post(MFA_URL, {"code": code or totp_code()}, REMOTE_ADDR=ip)


@pytest.fixture
def staff_client(client, clerk_lan):
    response = sign_in_with_code(client, "clerk", STAFF_PASSWORD)
    assert response.status_code == 302, response.content[:500]
    assert client.session["_auth_user_id"] == str(clerk_lan.pk)
    return client


@pytest.fixture
def citizen_client(client, citizen_nhung):
    client.force_login(citizen_nhung)
    return client


# --- the access-control matrix and the header crawl (T07, T09, T11, T21) ----------------------------------


@pytest.fixture(scope="module")
def matrix_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Citizen A's and agency A's objects and every role's account, once per test module (route_world.py)."""
    from django.db import transaction
    from django.test import override_settings

    from integrations.vneid.simulator import DEFAULT_REDIRECT_URIS, start
    from tests.security.route_world import build_world, vneid_overrides, world_settings

    key_dir = tmp_path_factory.mktemp("matrix-keys")
    server = start(
        port=0, redirect_uris=[*DEFAULT_REDIRECT_URIS, "http://testserver/accounts/oidc/vneid/login/callback/"]
    )
    overrides = {**world_settings(key_dir), **vneid_overrides(server.url), "RATELIMIT_ENABLE": False}
    try:
        with django_db_blocker.unblock(), override_settings(**overrides), transaction.atomic():
            yield build_world(key_dir)
            transaction.set_rollback(True)
    finally:
        server.stop()
