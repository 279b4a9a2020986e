"""Rate limits on the public and costly routes (decision 0063): 429 with a translated page, audited once."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.urls import reverse
from rest_framework.throttling import AnonRateThrottle

from citizens.apply import public_lookup_secret
from portal.models import AuditRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _limits(**changes):
    return override_settings(RATE_LIMITS={**settings.RATE_LIMITS, **changes})


def test_public_lookup_is_limited_per_address_and_the_right_secret_waits_too(client, received_dossier):
    secret = public_lookup_secret(dossier=received_dossier)
    url = reverse("citizens:lookup")
    with _limits(**{"lookup-ip": "5/10m"}):
        for n in range(5):
            assert client.post(url, {"code": f"TN000000-{n:06d}", "secret": "WRONG"}).status_code == 404
        refused = client.post(url, {"code": received_dossier.code, "secret": secret})
        again = client.post(url, {"code": received_dossier.code, "secret": secret})
        other_address = client.post(url, {"code": received_dossier.code, "secret": secret}, REMOTE_ADDR="10.1.2.3")
    assert refused.status_code == 429 and again.status_code == 429
    assert refused["Retry-After"] == "60"
    body = refused.content.decode()
    assert "Too many requests" in body and 'id="lookup-status"' not in body and received_dossier.code not in body
    assert other_address.status_code == 200  # another client is not held back
    # One audit record per client and route a minute, not one per refused request.
    assert AuditRecord.objects.filter(action="security.rate_limited").count() == 1


def test_public_lookup_of_one_dossier_code_is_limited_whoever_asks(client, received_dossier):
    url = reverse("citizens:lookup")
    with _limits(**{"lookup-code": "4/h"}):
        answers = [
            client.post(url, {"code": received_dossier.code.lower(), "secret": f"GUESS{n}"}, REMOTE_ADDR=f"10.0.0.{n}")
            for n in range(6)
        ]
        another_code = client.post(url, {"code": "TN000000-AAAAAA", "secret": "X"}, REMOTE_ADDR="10.0.0.99")
    assert [a.status_code for a in answers] == [404, 404, 404, 404, 429, 429]
    assert another_code.status_code == 404


def test_vietnamese_is_the_default_language_of_the_429_page(received_dossier):
    from django.test import Client

    client = Client()
    with _limits(**{"lookup-ip": "1/m"}):
        client.post(reverse("citizens:lookup"), {"code": "A", "secret": "B"})
        refused = client.post(reverse("citizens:lookup"), {"code": "A", "secret": "B"})
    assert refused.status_code == 429
    assert "Quá nhiều yêu cầu" in refused.content.decode()


def test_public_verification_pages_are_limited_per_address(client):
    url = reverse("documents:verify", args=["x" * 43])
    with _limits(**{"verify-ip": "3/m"}):
        statuses = [client.get(url).status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]


def test_feedback_is_limited_per_applicant(client, citizen_nhung, procedure):
    from citizens.models import Feedback

    client.force_login(citizen_nhung)
    data = {"kind": "recommendation", "about": f"p:{procedure.pk}", "subject": "Gợi ý", "body": "Thêm hướng dẫn"}
    with _limits(**{"feedback-user": "2/h"}):
        statuses = [client.post(reverse("citizens:feedback"), data).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert Feedback.objects.count() == 2  # the refused one recorded nothing


def test_the_api_throttles_anonymous_callers(client, monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "2/min", "user": "1000/min"})
    url = reverse("api:procedure-list")
    answers = [client.get(url) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["detail"] and int(answers[2]["Retry-After"]) > 0


def test_production_refuses_a_cache_that_is_not_shared():
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with override_settings(DEBUG=False, CACHES=caches), pytest.raises(SystemCheckError, match=r"portal\.E006"):
        call_command("check", "--deploy", "--tag", "security", "--fail-level", "ERROR")
    redis = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x:6379/2"}}
    with override_settings(DEBUG=False, CACHES=redis):
        from portal.checks import shared_cache_for_rate_limits

        assert shared_cache_for_rate_limits(None) == []
