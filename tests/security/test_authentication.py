"""T01 lockout, T02 same answer, T03 session lifecycle, T04 idle/absolute timeout, T05 cookies and passwords."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from portal.middleware import SESSION_AUTH_AT, SESSION_SEEN_AT
from portal.models import AuditRecord
from tests.security.conftest import LOGIN_URL, STAFF_PASSWORD, sign_in, sign_in_with_code

pytestmark = pytest.mark.django_db


def age_attempts(minutes: int) -> None:
    """Move every recorded failure into the past, as if the clock had advanced."""
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=minutes))


# --- T01 brute force ----------------------------------------------------------------------------------


def test_an_account_is_locked_after_the_limit_per_username_and_ip_and_even_the_right_password_fails(client, clerk_lan):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit <= 10
    tries = 20  # under allauth's own 30 requests/minute/IP limit, so every 429 here is the lockout
    statuses = [sign_in(client, "clerk", f"wrong-password-{i}").status_code for i in range(tries)]

    assert statuses[: limit - 1] == [200] * (limit - 1)  # the form again, with its error
    assert statuses[limit - 1 :] == [429] * (tries - limit + 1)
    assert sign_in(client, "clerk", STAFF_PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
    # Every attempt is an audit record; the typed login is kept only as a keyed hash.
    failed = AuditRecord.objects.filter(action="auth.login_failed")
    assert failed.count() == tries + 1
    assert all(r.data["login_key"] and "clerk" not in str(r.data) for r in failed)
    # Each refused attempt from the limit on is recorded as a lockout as well.
    assert AuditRecord.objects.filter(action="auth.locked_out").count() == tries + 1 - (limit - 1)


def test_the_lockout_expires_after_the_cool_off(client, clerk_lan):
    for i in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "clerk", f"wrong-{i}")
    assert sign_in(client, "clerk", STAFF_PASSWORD).status_code == 429

    age_attempts(int(settings.AXES_COOLOFF_TIME.total_seconds() // 60) + 1)

    response = sign_in_with_code(client, "clerk", STAFF_PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(clerk_lan.pk)


def test_attempts_during_a_lockout_do_not_extend_it(client, clerk_lan):
    for i in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "clerk", f"wrong-{i}")
    age_attempts(int(settings.AXES_COOLOFF_TIME.total_seconds() // 60) - 1)
    assert sign_in(client, "clerk", "still-wrong").status_code == 429  # locked, and not recorded anew

    age_attempts(int(settings.AXES_COOLOFF_TIME.total_seconds() // 60) + 1)
    assert sign_in(client, "clerk", STAFF_PASSWORD).status_code == 302


def test_one_address_trying_many_usernames_is_blocked_per_ip(client, clerk_lan):
    statuses = [sign_in(client, f"user{i}", "wrong-password-2026", ip="198.51.100.9").status_code for i in range(25)]

    first_block = statuses.index(429)
    assert first_block == settings.AXES_IP_FAILURE_LIMIT - 1
    assert set(statuses[first_block:]) == {429}
    # The real clerk from that address is blocked too; from another address the clerk is not.
    assert sign_in(client, "clerk", STAFF_PASSWORD, ip="198.51.100.9").status_code == 429
    assert sign_in(client, "clerk", STAFF_PASSWORD, ip="192.0.2.44").status_code == 302


def test_one_username_tried_from_many_addresses_is_capped_per_hour(client, clerk_lan):
    per_ip = settings.AXES_FAILURE_LIMIT - 1  # stay under the per-[username, IP] limit
    statuses = []
    for address in range(40):
        for _ in range(per_ip):
            statuses.append(sign_in(client, "clerk", "wrong-password-2026", ip=f"10.1.{address}.1").status_code)
    allowed = statuses.index(429)
    assert allowed == settings.AXES_USERNAME_FAILURE_LIMIT - 1
    # At most this many failures per cool-off window, so per hour:
    per_hour = settings.AXES_USERNAME_FAILURE_LIMIT * (3600 / settings.AXES_COOLOFF_TIME.total_seconds())
    assert per_hour <= 100


# --- T02 same answer for known and unknown accounts ---------------------------------------------------


def test_known_and_unknown_accounts_get_the_same_lockout_page(clerk_lan, client):
    from django.test import Client

    for i in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "clerk", f"wrong-{i}", ip="192.0.2.1")
    known = sign_in(client, "clerk", "wrong", ip="192.0.2.1")
    other = Client()
    for i in range(settings.AXES_FAILURE_LIMIT):
        sign_in(other, "nobody-here", f"wrong-{i}", ip="192.0.2.2")
    unknown = sign_in(other, "nobody-here", "wrong", ip="192.0.2.2")

    assert known.status_code == unknown.status_code == 429

    def body(response):
        # The CSRF token of the language form differs per client; the rest must be byte-identical.
        import re

        return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content).replace(
            b'"X-CSRFToken": "', b""
        )

    assert body(known).split(b"<main")[1] == body(unknown).split(b"<main")[1]
    assert b"clerk" not in known.content and b"nobody-here" not in unknown.content


def test_the_lockout_page_says_when_to_try_again(client, clerk_lan):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    for i in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "clerk", f"wrong-{i}")
    response = sign_in(client, "clerk", "wrong")
    assert response.status_code == 429
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    with translation.override("en"):
        assert f"Try again in {minutes} minutes." in response.content.decode()


# --- T03 session lifecycle -----------------------------------------------------------------------------


def test_sign_in_rotates_the_session_key_and_the_csrf_token(client, clerk_lan):
    client.get(LOGIN_URL)
    session = client.session
    session["planted"] = "by an attacker"
    session.save()
    planted_key = session.session_key
    client.cookies[settings.SESSION_COOKIE_NAME] = planted_key
    csrf_before = client.cookies[settings.CSRF_COOKIE_NAME].value

    assert sign_in_with_code(client, "clerk", STAFF_PASSWORD).status_code == 302

    assert client.session.session_key != planted_key
    assert not Session.objects.filter(session_key=planted_key).exists()
    assert client.cookies[settings.CSRF_COOKIE_NAME].value != csrf_before
    assert AuditRecord.objects.filter(action="auth.login", actor=clerk_lan).count() == 1


def test_a_signed_out_session_cookie_cannot_be_replayed(staff_client, clerk_lan):
    key = staff_client.session.session_key
    staff_client.post("/accounts/logout/")
    assert not Session.objects.filter(session_key=key).exists()

    from django.test import Client

    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = key
    response = replay.get("/workspace/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
    assert AuditRecord.objects.filter(action="auth.logout", actor=clerk_lan).count() == 1


def test_a_deactivated_user_loses_every_session_at_the_next_request(staff_client, clerk_lan):
    clerk_lan.is_active = False
    clerk_lan.save(update_fields=["is_active"])

    response = staff_client.get("/workspace/")

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


# --- T04 idle and absolute timeout ----------------------------------------------------------------------


def shift_session(client, *, seen_ago: float | None = None, auth_ago: float | None = None) -> None:
    session = client.session
    now = time.time()
    if seen_ago is not None:
        session[SESSION_SEEN_AT] = now - seen_ago
    if auth_ago is not None:
        session[SESSION_AUTH_AT] = now - auth_ago
    session.save()


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_staff_are_signed_out_after_30_minutes_idle(staff_client, clerk_lan):
    assert settings.STAFF_SESSION_IDLE_SECONDS == 30 * 60
    shift_session(staff_client, seen_ago=29 * 60)
    staff_client.get("/workspace/")
    assert signed_in(staff_client)

    shift_session(staff_client, seen_ago=31 * 60)
    response = staff_client.get("/workspace/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
    assert "_auth_user_id" not in staff_client.session
    logout = AuditRecord.objects.get(action="auth.logout", actor=clerk_lan)
    assert logout.reason == "idle_timeout"


def test_staff_are_signed_out_after_12_hours_however_active(staff_client, clerk_lan):
    assert settings.STAFF_SESSION_ABSOLUTE_SECONDS == 12 * 3600
    shift_session(staff_client, auth_ago=12 * 3600 - 60, seen_ago=60)
    staff_client.get("/workspace/")
    assert signed_in(staff_client)

    shift_session(staff_client, auth_ago=12 * 3600 + 60, seen_ago=60)
    response = staff_client.get("/workspace/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
    assert not signed_in(staff_client)
    assert AuditRecord.objects.get(action="auth.logout", actor=clerk_lan).reason == "absolute_timeout"


def test_applicants_have_their_own_documented_idle_time(citizen_client):
    idle = settings.APPLICANT_SESSION_IDLE_SECONDS
    shift_session(citizen_client, auth_ago=60, seen_ago=idle - 60)
    assert citizen_client.get("/privacy/").status_code == 200

    shift_session(citizen_client, seen_ago=idle + 60)
    response = citizen_client.get("/privacy/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


def test_the_session_cookie_lives_no_longer_than_the_absolute_limit():
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


# --- T05 cookies and password policy -------------------------------------------------------------------


def test_sign_in_sets_secure_httponly_samesite_cookies(client, clerk_lan):
    response = sign_in(client, "clerk", STAFF_PASSWORD)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["secure"] and cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    csrf = client.get(LOGIN_URL).cookies.get(settings.CSRF_COOKIE_NAME)
    if csrf is not None:  # set again only when it changed
        assert csrf["secure"] and csrf["httponly"]


@pytest.mark.parametrize(
    "password",
    [
        "12345678",  # short and numeric
        "123456789012",  # long enough, numeric
        "qwerty123456",  # on the common list
        "1q2w3e4r5t6y",  # on the common list
    ],
)
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        password_validation.validate_password(password)


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple " * 3,  # a long passphrase (87 characters)
        "Hôm nay trời đẹp lắm, đi dạo Hồ Gươm",  # Vietnamese with diacritics
        "x7#kq2lmw9zp",  # 12 characters, no composition rule needed beyond length
    ],
)
def test_long_and_vietnamese_passphrases_are_accepted_and_compared_exactly(password, django_user_model):
    password_validation.validate_password(password)
    user = django_user_model.objects.create_user("passphrase-user", password=password)
    assert user.check_password(password)
    assert not user.check_password(password.upper() if password != password.upper() else password.lower())


def test_the_minimum_length_is_at_least_12():
    with pytest.raises(ValidationError):
        password_validation.validate_password("k9#mQ2vLx7z")  # 11 characters, not common
    password_validation.validate_password("k9#mQ2vLx7zP")
