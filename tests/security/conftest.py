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


@pytest.fixture
def staff_client(client, clerk_lan):
    response = sign_in(client, "clerk", STAFF_PASSWORD)
    assert response.status_code == 302, response.content[:500]
    return client


@pytest.fixture
def citizen_client(client, citizen_nhung):
    client.force_login(citizen_nhung)
    return client
