"""T06: TOTP two-factor sign-in for every staff account (allauth.mfa + portal.two_factor)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from portal import crypto
from portal.models import AuditRecord
from tests.conftest import TEST_TOTP_SEED, make_staff, totp_code, totp_enrol
from tests.security.conftest import LOGIN_URL, MFA_URL, STAFF_PASSWORD, sign_in, sign_in_with_code

pytestmark = pytest.mark.django_db

ENROL_URL = "/accounts/2fa/totp/activate/"
REAUTH_URL = "/accounts/reauthenticate/"
IP = "203.0.113.7"
# Pages and endpoints of every kind a staff member uses; none may open without the second factor.
STAFF_URLS = [
    "/workspace/",
    "/workspace/counter/",
    "/admin/",
    "/admin/portal/auditrecord/",
    "/quality/",
    "/facilities/",
    "/reconciliation/",
    "/procedures/",
    "/me/dossiers/",
    "/privacy/",
    "/accounts/2fa/",
    "/accounts/2fa/recovery-codes/",
    "/accounts/2fa/totp/deactivate/",
]
API_URLS = ["/api/v1/dossiers/", "/api/v1/procedures/"]


def unenrolled(user):
    Authenticator.objects.filter(user=user).delete()
    return user


@pytest.fixture
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def age_attempts(minutes: int) -> None:
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=minutes))


# --- a password alone opens nothing ---------------------------------------------------------------------


def test_a_password_only_session_of_unenrolled_staff_reaches_only_the_enrolment_pages(client, clerk_lan):
    unenrolled(clerk_lan)
    response = sign_in(client, "clerk", STAFF_PASSWORD)
    assert response.status_code == 302 and signed_in(client)  # no code to ask: the password signs in ...

    for url in STAFF_URLS:  # ... but every page sends to enrolment
        answer = client.get(url)
        assert answer.status_code == 302, url
        assert answer["Location"] == ENROL_URL, url
        assert client.post(url, {"x": "1"})["Location"] == ENROL_URL, url
    for url in API_URLS:
        answer = client.get(url)
        assert answer.status_code == 403, url
        assert answer["Content-Type"] == "application/json"
        assert set(json.loads(answer.content)) == {"detail", "request_id"}
    htmx = client.get("/workspace/", HTTP_HX_REQUEST="true")
    assert htmx.status_code == 204 and htmx["HX-Redirect"] == ENROL_URL

    # What stays open: enrolment (after typing the password again, as allauth asks before any change to the
    # second factor), the language switch and sign-out.
    confirm = client.get(ENROL_URL)
    assert confirm["Location"].startswith(REAUTH_URL)
    assert client.post(confirm["Location"], {"password": STAFF_PASSWORD})["Location"] == ENROL_URL
    assert client.get(ENROL_URL).status_code == 200
    assert client.post("/i18n/setlang/", {"language": "en", "next": ENROL_URL})["Location"] == ENROL_URL
    assert client.post("/accounts/logout/").status_code == 302
    assert not signed_in(client)


def test_an_enrolled_staff_member_who_typed_only_the_password_is_not_signed_in(client, clerk_lan):
    response = sign_in(client, "clerk", STAFF_PASSWORD)
    assert response.status_code == 302 and response["Location"] == MFA_URL
    assert not signed_in(client)
    for url in STAFF_URLS:
        if url == "/procedures/":
            continue  # the public catalogue
        answer = client.get(url)
        assert answer.status_code == 302 and answer["Location"].startswith((LOGIN_URL, "/admin/login/")), url
    assert client.get("/api/v1/dossiers/").status_code in (401, 403)
    assert AuditRecord.objects.filter(action="auth.login").count() == 0


def test_the_code_page_is_styled_translatable_and_has_no_inline_script_or_style(english, clerk_lan):
    sign_in(english, "clerk", STAFF_PASSWORD)
    page = english.get(MFA_URL).content.decode()
    assert "Enter the code from your authenticator app" in page
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
    assert "<style" not in page and " style=" not in page and "<script>" not in page


# --- the code -------------------------------------------------------------------------------------------


def test_a_correct_code_completes_the_sign_in_and_is_audited(client, clerk_lan):
    response = sign_in_with_code(client, "clerk", STAFF_PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(clerk_lan.pk)
    assert client.get("/workspace/", follow=True).status_code == 200
    passed = AuditRecord.objects.get(action="auth.mfa_passed")
    assert passed.actor == clerk_lan and passed.data["type"] == "totp"
    assert AuditRecord.objects.filter(action="auth.login", actor=clerk_lan).count() == 1


@pytest.mark.parametrize("wrong", ["000000", "12345", "abcdef", "", "9" * 12, "' OR 1=1 --"])
def test_a_wrong_code_is_refused_and_audited(english, clerk_lan, wrong):
    if wrong == totp_code():  # one chance in a million
        wrong = "000001"
    sign_in(english, "clerk", STAFF_PASSWORD)
    response = english.post(MFA_URL, {"code": wrong}, REMOTE_ADDR=IP)
    assert response.status_code == 200
    assert not signed_in(english)
    if wrong:
        assert "Incorrect code." in response.content.decode()
        failed = AuditRecord.objects.get(action="auth.mfa_failed")
        assert failed.object_id == str(clerk_lan.pk) and failed.actor is None
        assert failed.data["type"] == "totp" and failed.data["reauthentication"] is False
        # counted with the failed passwords; the code typed is not kept
        attempt = AccessAttempt.objects.get(username="clerk")
        assert attempt.failures_since_start == 1
        assert f"code={wrong}" not in attempt.post_data


def test_a_code_works_once_even_in_its_own_period(client, clerk_lan):
    code = totp_code()
    assert sign_in_with_code(client, "clerk", STAFF_PASSWORD, code=code).status_code == 302
    client.post("/accounts/logout/")

    replay = Client()
    sign_in(replay, "clerk", STAFF_PASSWORD)
    refused = replay.post(MFA_URL, {"code": code}, REMOTE_ADDR=IP)
    assert refused.status_code == 200 and not signed_in(replay)
    # An older code after a newer one is refused too; the next period's code is accepted.
    assert replay.post(MFA_URL, {"code": totp_code(step=-1)}, REMOTE_ADDR=IP).status_code == 200
    assert not signed_in(replay)
    assert replay.post(MFA_URL, {"code": totp_code(step=1)}, REMOTE_ADDR=IP).status_code == 302
    assert signed_in(replay)
    assert AuditRecord.objects.filter(action="auth.mfa_failed").count() == 2


def test_a_code_two_periods_away_is_refused(client, clerk_lan):
    sign_in(client, "clerk", STAFF_PASSWORD)
    for step in (-3, -2, 2, 3):
        assert client.post(MFA_URL, {"code": totp_code(step=step)}, REMOTE_ADDR=IP).status_code == 200
    assert not signed_in(client)


def test_repeated_wrong_codes_lock_the_account_out_like_wrong_passwords(client, clerk_lan):
    limit = settings.AXES_FAILURE_LIMIT
    sign_in(client, "clerk", STAFF_PASSWORD)
    wrong = "000000" if totp_code() != "000000" else "000001"
    statuses = [client.post(MFA_URL, {"code": wrong}, REMOTE_ADDR=IP).status_code for _ in range(limit + 3)]

    assert statuses[: limit - 1] == [200] * (limit - 1)
    assert statuses[limit - 1 :] == [429] * 4
    # The right code is refused during the lockout, and so is a new password sign-in from that address.
    assert client.post(MFA_URL, {"code": totp_code()}, REMOTE_ADDR=IP).status_code == 429
    assert not signed_in(client)
    assert sign_in(Client(), "clerk", STAFF_PASSWORD, ip=IP).status_code == 429
    assert AuditRecord.objects.filter(action="auth.mfa_failed").count() == limit
    assert AuditRecord.objects.filter(action="auth.locked_out").count() >= 4

    # The cool-off ends the lockout.
    age_attempts(int(settings.AXES_COOLOFF_TIME.total_seconds() // 60) + 1)
    fresh = Client()
    assert sign_in_with_code(fresh, "clerk", STAFF_PASSWORD, ip=IP, code=totp_code(step=1)).status_code == 302
    assert signed_in(fresh)


# --- the admin ------------------------------------------------------------------------------------------


def test_the_admin_has_no_password_only_sign_in(client, agency):
    from procedures.models import StaffProfile

    admin = make_staff("quantri", agency, StaffProfile.Role.ADMINISTRATOR)
    admin.is_superuser = True
    admin.save()

    first = client.get("/admin/")
    assert first["Location"].startswith("/admin/login/")
    to_portal = client.get(first["Location"])
    assert to_portal.status_code == 302 and to_portal["Location"].startswith(LOGIN_URL + "?next=")
    # Django's own admin form is gone: posting a right password to it signs nobody in.
    posted = client.post("/admin/login/", {"username": "quantri", "password": STAFF_PASSWORD})
    assert posted.status_code == 302 and not signed_in(client)
    # Password only: still no admin page.
    sign_in(client, "quantri", STAFF_PASSWORD)
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    assert client.post(MFA_URL, {"code": totp_code()}, REMOTE_ADDR=IP).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_signed_in_citizen_cannot_use_the_admin_sign_in(client, citizen_nhung, agency):
    from procedures.models import StaffProfile

    make_staff("quantri", agency, StaffProfile.Role.ADMINISTRATOR)
    client.force_login(citizen_nhung)
    assert client.get("/admin/login/").status_code == 403
    client.post("/admin/login/", {"username": "quantri", "password": STAFF_PASSWORD})
    assert client.session["_auth_user_id"] == str(citizen_nhung.pk)


# --- enrolment, reset, no switching off -----------------------------------------------------------------


def test_enrolment_shows_a_qr_code_and_needs_a_right_code_which_is_then_spent(
    english, clerk_lan, django_capture_on_commit_callbacks
):
    unenrolled(clerk_lan)
    sign_in(english, "clerk", STAFF_PASSWORD)
    english.post(REAUTH_URL, {"password": STAFF_PASSWORD})
    page = english.get(ENROL_URL)
    html = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in html
    assert "<style" not in html and " style=" not in html and "<script>" not in html
    secret = english.session["mfa.totp.secret"]
    assert secret in html  # for typing into the app by hand

    wrong = english.post(ENROL_URL, {"code": "000000" if totp_code(secret) != "000000" else "000001"})
    assert wrong.status_code == 200 and "Incorrect code." in wrong.content.decode()
    code = totp_code(secret)
    with django_capture_on_commit_callbacks(execute=True):
        done = english.post(ENROL_URL, {"code": code})
    assert done.status_code == 302 and done["Location"] == "/accounts/2fa/recovery-codes/"
    assert english.get("/workspace/", follow=True).status_code == 200
    totp = Authenticator.objects.get(user=clerk_lan, type="totp")
    assert totp.data["secret"] != secret and crypto.decrypt(totp.data["secret"]) == secret  # encrypted at rest
    assert Authenticator.objects.filter(user=clerk_lan, type="recovery_codes").exists()
    assert AuditRecord.objects.filter(action="auth.mfa_enrolled", actor=clerk_lan).count() == 2  # app + codes

    # The code used to enrol cannot sign in afterwards.
    english.post("/accounts/logout/")
    sign_in(english, "clerk", STAFF_PASSWORD)
    assert english.post(MFA_URL, {"code": code}, REMOTE_ADDR=IP).status_code == 200
    assert english.post(MFA_URL, {"code": totp_code(secret, step=1)}, REMOTE_ADDR=IP).status_code == 302


def test_a_recovery_code_signs_in_once(client, clerk_lan):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    codes = RecoveryCodes.activate(clerk_lan).generate_codes()
    sign_in(client, "clerk", STAFF_PASSWORD)
    assert client.post(MFA_URL, {"code": codes[0]}, REMOTE_ADDR=IP).status_code == 302
    client.post("/accounts/logout/")
    sign_in(client, "clerk", STAFF_PASSWORD)
    assert client.post(MFA_URL, {"code": codes[0]}, REMOTE_ADDR=IP).status_code == 200
    assert not signed_in(client)


def test_staff_cannot_switch_off_their_authenticator(english, clerk_lan):
    sign_in_with_code(english, "clerk", STAFF_PASSWORD)
    english.post("/accounts/2fa/reauthenticate/", {"code": totp_code(step=1)})
    page = english.get("/accounts/2fa/totp/deactivate/")
    assert page.status_code == 200
    assert "cannot be switched off" in page.content.decode()
    english.post("/accounts/2fa/totp/deactivate/")
    assert Authenticator.objects.filter(user=clerk_lan, type="totp").exists()
    assert not AuditRecord.objects.filter(action="auth.mfa_removed").exists()


def test_an_administrator_reset_signs_the_person_out_and_forces_a_new_enrolment(client, clerk_lan, agency):
    from procedures.models import StaffProfile

    sign_in_with_code(client, "clerk", STAFF_PASSWORD)
    assert client.get("/workspace/", follow=True).status_code == 200

    admin = make_staff("quantri", agency, StaffProfile.Role.ADMINISTRATOR)
    admin.is_superuser = True
    admin.save()
    admin_client = Client()
    admin_client.force_login(admin)
    totp = Authenticator.objects.get(user=clerk_lan, type="totp")
    response = admin_client.post(
        "/admin/mfa/authenticator/",
        {"action": "two_factor_reset_action", "_selected_action": [totp.pk]},
    )
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=clerk_lan).exists()
    reset = AuditRecord.objects.get(action="auth.mfa_reset")
    assert reset.actor == admin and reset.object_id == str(clerk_lan.pk) and reset.data["removed"] == ["totp"]

    # The clerk's open session ends; signing in again leads to enrolment and nowhere else.
    assert client.get("/workspace/")["Location"].startswith(LOGIN_URL)
    assert not signed_in(client)
    assert AuditRecord.objects.get(action="auth.logout", actor=clerk_lan).reason == "mfa_reset"
    sign_in(client, "clerk", STAFF_PASSWORD)
    assert client.get("/workspace/")["Location"] == ENROL_URL


def test_the_reset_command_needs_an_administrator_and_a_reason(clerk_lan, agency):
    from django.core.management.base import CommandError

    from procedures.models import StaffProfile

    admin = make_staff("quantri", agency, StaffProfile.Role.ADMINISTRATOR)
    with pytest.raises(CommandError):
        call_command("two_factor_reset", "clerk", reason="lost phone", by="quantri")  # not a superuser
    admin.is_superuser = True
    admin.save()
    call_command("two_factor_reset", "clerk", reason="ticket 42: lost phone", by="quantri")
    assert not Authenticator.objects.filter(user=clerk_lan).exists()
    assert AuditRecord.objects.get(action="auth.mfa_reset").reason == "ticket 42: lost phone"


def test_the_admin_list_shows_no_secret_and_cannot_delete(admin_client, clerk_lan):
    listing = admin_client.get("/admin/mfa/authenticator/")
    assert listing.status_code == 200
    totp = Authenticator.objects.get(user=clerk_lan, type="totp")
    detail = admin_client.get(f"/admin/mfa/authenticator/{totp.pk}/change/").content.decode()
    assert totp.data["secret"] not in detail and TEST_TOTP_SEED not in detail
    assert admin_client.post(f"/admin/mfa/authenticator/{totp.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Authenticator.objects.filter(pk=totp.pk).exists()


# --- who is concerned -----------------------------------------------------------------------------------


def test_facility_members_need_the_second_factor_and_citizens_do_not(client, citizen_nhung, django_user_model):
    from facilities.models import Facility, FacilityMembership

    facility = Facility.objects.create(code="99911", name="Bệnh viện Kiểm thử", province_code="01")
    member = django_user_model.objects.create_user("ho-sinh", password=STAFF_PASSWORD)
    FacilityMembership.objects.create(user=member, facility=facility, role="issuer")
    client.force_login(member)
    assert client.get("/facilities/")["Location"] == ENROL_URL
    totp_enrol(member)
    assert client.get("/facilities/").status_code == 200

    client.force_login(citizen_nhung)
    mine = client.get("/me/dossiers/")
    assert mine.status_code == 200, mine
    assert client.get("/accounts/2fa/").status_code == 404
    assert client.get(ENROL_URL).status_code == 404


def test_there_is_no_switch_to_turn_two_factor_off():
    middleware = settings.MIDDLEWARE
    assert middleware.index("portal.two_factor.TwoFactorEnrolmentMiddleware") == (
        middleware.index("portal.middleware.SessionTimeoutMiddleware") + 1
    )
    assert "allauth.mfa" in settings.INSTALLED_APPS
    assert getattr(settings, "MFA_TOTP_INSECURE_BYPASS_CODE", None) is None
    assert settings.MFA_TRUST_ENABLED is False
    assert "totp" in settings.MFA_SUPPORTED_TYPES
