"""VNeID sign-in end to end: allauth's OpenID Connect client against the simulator, over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user, get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import RequestFactory

from citizens.adapters import is_staff_account, vneid_username
from citizens.models import CitizenProfile
from citizens.selectors import citizen_profile_for, citizen_profile_for_national_id
from integrations.vneid.simulator import DEMO_CITIZENS, DemoCitizen, Fault, start
from portal.audit import audit_chain_verify
from portal.crypto import pii_hash
from portal.models import AuditRecord
from tests.conftest import totp_enrol
from tests.fixtures.vneid import TEST_CLIENT_REDIRECT_URI

LOGIN = "/accounts/oidc/vneid/login/"
NHUNG, MINH, BAO, HA_LEVEL_1, ORG_MINH_AN = DEMO_CITIZENS
User = get_user_model()


@pytest.fixture
def english(client):
    client.cookies["portal_language"] = "en"
    return client


def _logout(client) -> None:
    """Sign out as the browser would; Django's test client drops every cookie, so keep the language."""
    client.logout()
    client.cookies["portal_language"] = "en"


def _authorize_url(client, query: str = "") -> str:
    """Press the "Sign in with VNeID" button; return where the portal sends the browser."""
    response = client.post(LOGIN + query)
    assert response.status_code == 302
    return response["Location"]


def _sign_in(client, simulator, citizen: DemoCitizen, query: str = ""):
    """Run the whole code flow for CITIZEN (the simulator approves at once); return the callback response."""
    simulator.auto_approve = citizen.national_id
    back = requests.get(_authorize_url(client, query), allow_redirects=False, timeout=10)
    assert back.status_code == 302
    location = back.headers["Location"]
    assert location.startswith(TEST_CLIENT_REDIRECT_URI + "?")
    return client.get(location.removeprefix("http://testserver"))


def _set_token_auth_method(settings, method: str) -> None:
    providers = dict(settings.SOCIALACCOUNT_PROVIDERS)
    oidc = dict(providers["openid_connect"])
    app = dict(oidc["APPS"][0])
    app["settings"] = {**app["settings"], "token_auth_method": method}
    oidc["APPS"] = [app]
    providers["openid_connect"] = oidc
    settings.SOCIALACCOUNT_PROVIDERS = providers


def _make_staff(username: str = "clerk") -> User:
    return totp_enrol(User.objects.create_user(username=username, password="staff-password-2026", is_staff=True))


# --- The portal's pages --------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_page_has_a_vneid_button_that_posts_and_a_staff_form(english, vneid_simulator):
    response = english.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<form method="post" action="{LOGIN}">' in html
    assert "Sign in with VNeID" in html
    assert 'name="login"' in html
    assert 'name="password"' in html
    assert "style=" not in html
    assert "<style" not in html
    assert "<script>" not in html  # inline scripts would break under the CSP


@pytest.mark.django_db
def test_login_page_is_in_vietnamese_by_default(client, vneid_simulator):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert response["Content-Language"] == "vi"


@pytest.mark.django_db
def test_get_on_the_vneid_url_asks_to_confirm_with_a_post(english, vneid_simulator):
    response = english.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Continue to VNeID" in html
    assert '<form method="post">' in html


@pytest.mark.django_db
def test_cancel_at_vneid_shows_the_cancelled_page(english, vneid_simulator):
    page = requests.get(_authorize_url(english), timeout=10)
    request_id = page.text.split('name="request_id" value="', 1)[1].split('"', 1)[0]
    cancelled = requests.post(
        vneid_simulator.url + "/authorize",
        data={"request_id": request_id, "action": "cancel"},
        allow_redirects=False,
        timeout=10,
    )
    response = english.get(cancelled.headers["Location"].removeprefix("http://testserver"), follow=True)
    assert "You cancelled the sign-in at VNeID" in response.content.decode()
    assert not get_user(english).is_authenticated


@pytest.mark.django_db
def test_local_sign_up_is_closed(english):
    response = english.get("/accounts/signup/")
    assert "No sign-up on this portal" in response.content.decode()
    assert not User.objects.exists()


# --- The code flow -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_basic"])
def test_code_flow_signs_in_a_new_citizen(client, settings, vneid_simulator, method, caplog):
    _set_token_auth_method(settings, method)
    caplog.set_level(logging.DEBUG)

    authorize = _authorize_url(client)
    assert authorize.startswith(vneid_simulator.url + "/authorize?")
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert query["client_id"] == ["mot-cua-portal"]
    assert query["redirect_uri"] == [TEST_CLIENT_REDIRECT_URI]

    response = _sign_in(client, vneid_simulator, NHUNG)
    assert response.status_code == 302
    assert response["Location"] == "/after-login/"
    assert vneid_simulator.last_client_auth == method

    user = get_user(client)
    assert user.is_authenticated
    assert user.username == f"vneid-{NHUNG.sub}"
    assert (user.first_name, user.last_name) == ("Thị Hồng Nhung", "Nguyễn")
    assert not user.has_usable_password()
    assert not user.is_staff
    profile = user.citizen_profile
    assert profile.national_id == NHUNG.national_id
    assert profile.national_id_hash == pii_hash(NHUNG.national_id)
    assert (profile.full_name, str(profile.birth_date), profile.sex) == ("Nguyễn Thị Hồng Nhung", "1995-03-14", "F")
    assert (profile.assurance_level, profile.source, profile.vneid_subject) == ("2", "vneid", NHUNG.sub)
    assert citizen_profile_for(user=user) == profile
    assert citizen_profile_for_national_id(national_id=NHUNG.national_id) == profile

    with connection.cursor() as cursor:
        cursor.execute("SELECT national_id FROM citizens_citizenprofile WHERE id = %s", [profile.pk])
        stored = cursor.fetchone()[0]
    assert NHUNG.national_id not in stored  # encrypted at rest

    record = AuditRecord.objects.get(action="citizen.profile_updated")
    assert (record.actor_id, record.object_type, record.object_id) == (
        user.pk,
        "citizens.citizenprofile",
        str(profile.pk),
    )
    assert record.data["created"] is True
    assert "national_id" in record.data["changed"]
    assert audit_chain_verify().ok

    # The ID number is nowhere in clear: not in allauth's stored claims, the audit trail, or the log.
    account = SocialAccount.objects.get(provider="vneid")
    assert (account.uid, account.user_id) == (NHUNG.sub, user.pk)
    assert NHUNG.national_id not in json.dumps(account.extra_data)
    assert account.extra_data["userinfo"]["acr"] == "2"
    assert NHUNG.national_id not in json.dumps(record.data) + record.reason
    assert NHUNG.national_id not in caplog.text


@pytest.mark.django_db
def test_next_login_refreshes_the_same_profile(client, vneid_simulator):
    assert _sign_in(client, vneid_simulator, MINH).status_code == 302
    vneid_simulator.claim_overrides = {"name": "Trần Văn Minh Khôi", "given_name": "Văn Minh Khôi"}
    client.logout()

    response = _sign_in(client, vneid_simulator, MINH)
    assert response.status_code == 302
    user = get_user(client)
    assert User.objects.count() == 1
    assert CitizenProfile.objects.count() == 1
    assert user.citizen_profile.full_name == "Trần Văn Minh Khôi"
    assert user.first_name == "Văn Minh Khôi"
    assert user.citizen_profile.sex == "M"
    first, second = AuditRecord.objects.filter(action="citizen.profile_updated").order_by("id")
    assert first.data["created"] is True
    assert second.data["created"] is False
    assert second.data["changed"] == ["full_name"]


@pytest.mark.django_db
def test_new_subject_for_a_known_id_number_reaches_the_same_citizen(client, vneid_simulator):
    _sign_in(client, vneid_simulator, BAO)
    citizen = get_user(client)
    client.logout()
    vneid_simulator.claim_overrides = {"sub": "sim-reissued-account"}

    response = _sign_in(client, vneid_simulator, BAO)
    assert response.status_code == 302
    assert get_user(client).pk == citizen.pk
    assert CitizenProfile.objects.get().vneid_subject == "sim-reissued-account"
    assert set(SocialAccount.objects.filter(user=citizen).values_list("uid", flat=True)) == {
        BAO.sub,
        "sim-reissued-account",
    }


# --- Refusals ------------------------------------------------------------------------------------


def _assert_refused(client, response, text: str) -> None:
    assert response.status_code == 403
    html = response.content.decode()
    assert "Sign-in with VNeID refused" in html
    assert text in html
    assert 'href="/accounts/login/"' in html
    assert not get_user(client).is_authenticated


@pytest.mark.django_db
def test_level_1_account_is_refused(english, vneid_simulator):
    response = _sign_in(english, vneid_simulator, HA_LEVEL_1)
    _assert_refused(english, response, "Your VNeID account is at identification level 1.")
    assert "need identification level 2" in response.content.decode()
    assert not User.objects.exists()
    assert not CitizenProfile.objects.exists()


@pytest.mark.django_db
def test_minimum_level_is_a_setting(english, settings, vneid_simulator):
    settings.VNEID_MIN_ASSURANCE_LEVEL = "3"
    _assert_refused(english, _sign_in(english, vneid_simulator, NHUNG), "identification level 2")
    settings.VNEID_MIN_ASSURANCE_LEVEL = "1"
    assert _sign_in(english, vneid_simulator, HA_LEVEL_1).status_code == 302
    assert get_user(english).citizen_profile.assurance_level == "1"


@pytest.mark.django_db
def test_the_lower_level_of_id_token_and_userinfo_counts(english, vneid_simulator):
    # The override reaches the ID token as well as userinfo; a level in the ID token alone must not lift it.
    vneid_simulator.claim_overrides = {"acr": "1"}
    _assert_refused(english, _sign_in(english, vneid_simulator, NHUNG), "identification level 1")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"so_dinh_danh": None}, "did not provide your personal identification number"),
        ({"so_dinh_danh": ""}, "did not provide your personal identification number"),
        ({"so_dinh_danh": "00119501234"}, "has exactly 12 digits"),
        ({"so_dinh_danh": "123195012345"}, "123 is not the province code"),
        ({"so_dinh_danh": "001795012345"}, "birth year in the future"),
        ({"birthdate": "1996-03-14"}, "does not match the date of birth"),
        ({"acr": None}, "did not state the identification level"),
        ({"acr": "high"}, "did not state the identification level"),
        ({"name": None, "given_name": None, "family_name": None}, "did not provide your full name"),
    ],
)
def test_missing_or_invalid_identity_claims_are_refused(english, vneid_simulator, overrides, text):
    vneid_simulator.claim_overrides = overrides
    response = _sign_in(english, vneid_simulator, NHUNG)
    _assert_refused(english, response, text)
    assert not User.objects.exists()
    assert not CitizenProfile.objects.exists()


@pytest.mark.django_db
def test_userinfo_about_another_subject_is_refused(english, vneid_simulator, monkeypatch):
    real_userinfo = DemoCitizen.userinfo
    monkeypatch.setattr(DemoCitizen, "userinfo", lambda self: {**real_userinfo(self), "sub": "sim-someone-else"})
    _assert_refused(english, _sign_in(english, vneid_simulator, NHUNG), "answered inconsistently")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_an_id_number_held_by_another_account_is_refused(english, vneid_simulator):
    _sign_in(english, vneid_simulator, NHUNG)
    _logout(english)
    _sign_in(english, vneid_simulator, MINH)
    _logout(english)
    # VNeID now says Minh's account holds Nhung's number (with her birth date, so the number itself is valid).
    vneid_simulator.claim_overrides = {"so_dinh_danh": NHUNG.national_id, "birthdate": NHUNG.birthdate}
    _assert_refused(english, _sign_in(english, vneid_simulator, MINH), "already linked to another account")
    minh = CitizenProfile.objects.get(vneid_subject=MINH.sub)
    assert minh.national_id == MINH.national_id


@pytest.mark.django_db
@pytest.mark.parametrize("fault", [Fault.WRONG_ISSUER, Fault.EXPIRED_ID_TOKEN, Fault.EXPIRED_ACCESS_TOKEN])
def test_untrustworthy_tokens_are_refused(english, vneid_simulator, fault):
    vneid_simulator.faults.add(fault)
    response = _sign_in(english, vneid_simulator, NHUNG)
    assert response.status_code == 401
    assert "Sign-in with VNeID failed" in response.content.decode()
    assert not get_user(english).is_authenticated
    assert not User.objects.exists()
    assert not SocialAccount.objects.exists()


@pytest.mark.django_db
def test_bad_signature_is_not_checked_in_the_code_flow_but_is_in_token_verification(client, vneid_simulator):
    """allauth 65.21.1 skips the signature of an ID token it fetched itself from the token endpoint.

    OpenID Connect Core §3.1.3.7 allows that when the token comes over TLS straight from the provider; the claims
    the portal uses come from userinfo over the same channel anyway. Production must therefore use https for
    VNEID_SERVER_URL. The token-authentication path (ID token handed in by a client) does check the signature.
    """
    vneid_simulator.faults.add(Fault.BAD_SIGNATURE)
    assert _sign_in(client, vneid_simulator, NHUNG).status_code == 302
    assert get_user(client).is_authenticated

    tokens = _token_exchange(vneid_simulator, MINH)
    keys = requests.get(vneid_simulator.url + "/jwks", timeout=10).json()["keys"]
    public_key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(keys[0]))
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(tokens["id_token"], public_key, algorithms=["RS256"], audience="mot-cua-portal")
    request = RequestFactory().get("/")
    provider = get_adapter().get_provider(request, "vneid")
    with pytest.raises(ValidationError):
        provider.verify_token(request, {"id_token": tokens["id_token"]})


# --- Staff accounts are out of reach -------------------------------------------------------------


@pytest.mark.django_db
def test_vneid_never_signs_in_to_a_staff_account_linked_to_the_subject(english, vneid_simulator):
    clerk = _make_staff()
    SocialAccount.objects.create(user=clerk, provider="vneid", uid=NHUNG.sub)
    _assert_refused(english, _sign_in(english, vneid_simulator, NHUNG), "cannot be used to sign in to a staff account")
    assert not CitizenProfile.objects.exists()


@pytest.mark.django_db
def test_vneid_cannot_be_connected_to_a_signed_in_staff_account(english, vneid_simulator):
    clerk = _make_staff()
    english.force_login(clerk)
    response = _sign_in(english, vneid_simulator, NHUNG, query="?process=connect")
    assert response.status_code == 403
    assert "cannot be added to an existing account" in response.content.decode()
    assert not SocialAccount.objects.exists()
    assert not CitizenProfile.objects.exists()


@pytest.mark.django_db
def test_staff_signed_in_then_vneid_login_gives_a_separate_citizen(client, vneid_simulator):
    clerk = _make_staff(username=vneid_username(NHUNG.sub))  # even the username a citizen would get
    client.force_login(clerk)
    assert _sign_in(client, vneid_simulator, NHUNG).status_code == 302
    citizen = get_user(client)
    assert citizen.pk != clerk.pk
    assert not is_staff_account(citizen)
    assert citizen.citizen_profile.vneid_subject == NHUNG.sub
    clerk.refresh_from_db()
    assert not hasattr(clerk, "citizen_profile")
    assert clerk.has_usable_password()


@pytest.mark.django_db
def test_citizen_account_later_made_staff_is_refused(english, vneid_simulator):
    _sign_in(english, vneid_simulator, NHUNG)
    User.objects.update(is_staff=True)
    _logout(english)
    _assert_refused(english, _sign_in(english, vneid_simulator, NHUNG), "staff account")
    # Nor through the re-issued-subject path, which finds the account by the ID number.
    vneid_simulator.claim_overrides = {"sub": "sim-reissued-account"}
    _assert_refused(english, _sign_in(english, vneid_simulator, NHUNG), "staff account")


# --- Admin ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_lists_profiles_without_the_id_number_and_audits_the_detail(client, vneid_simulator):
    _sign_in(client, vneid_simulator, NHUNG)
    profile = CitizenProfile.objects.get()
    admin = totp_enrol(User.objects.create_superuser(username="admin", password="admin-password-2026"))
    client.force_login(admin)
    listing = client.get("/admin/citizens/citizenprofile/")
    assert listing.status_code == 200
    assert "Nguyễn Thị Hồng Nhung" in listing.content.decode()
    assert NHUNG.national_id not in listing.content.decode()
    detail = client.get(f"/admin/citizens/citizenprofile/{profile.pk}/change/")
    assert detail.status_code == 200
    assert NHUNG.national_id in detail.content.decode()
    viewed = AuditRecord.objects.get(action="personal_data.read")
    assert (viewed.actor_id, viewed.object_id) == (admin.pk, str(profile.pk))
    assert client.post(f"/admin/citizens/citizenprofile/{profile.pk}/change/", {}).status_code == 403


# --- The simulator as an OpenID Connect provider -------------------------------------------------


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


REDIRECT_URI = "http://127.0.0.1:8000/accounts/oidc/vneid/login/callback/"


def _authorize(simulator, challenge: str, **params) -> requests.Response:
    query = {
        "client_id": "mot-cua-portal",
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid profile",
        "state": "st-123",
        "nonce": "n-456",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **params,
    }
    query = {k: v for k, v in query.items() if v is not None}
    return requests.get(simulator.url + "/authorize", params=query, allow_redirects=False, timeout=10)


def _code(simulator, citizen: DemoCitizen, challenge: str) -> str:
    simulator.auto_approve = citizen.national_id
    response = _authorize(simulator, challenge)
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def _token(simulator, code: str, verifier: str, **data) -> requests.Response:
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": "mot-cua-portal",
        "client_secret": "simulator-secret",
        **data,
    }
    return requests.post(simulator.url + "/token", data={k: v for k, v in body.items() if v is not None}, timeout=10)


def _token_exchange(simulator, citizen: DemoCitizen) -> dict:
    verifier, challenge = _pkce()
    response = _token(simulator, _code(simulator, citizen, challenge), verifier)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def simulator():
    server = start(port=0)
    yield server
    server.stop()


def test_discovery_and_a_verifiable_id_token(simulator):
    config = requests.get(simulator.url + "/.well-known/openid-configuration", timeout=10).json()
    assert config["issuer"] == simulator.url
    assert config["token_endpoint"] == simulator.url + "/token"
    assert config["code_challenge_methods_supported"] == ["S256"]
    tokens = _token_exchange(simulator, NHUNG)
    assert tokens["token_type"] == "Bearer"
    keys = requests.get(config["jwks_uri"], timeout=10).json()["keys"]
    header = jwt.get_unverified_header(tokens["id_token"])
    key = next(k for k in keys if k["kid"] == header["kid"])
    claims = jwt.decode(
        tokens["id_token"],
        jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(key)),
        algorithms=["RS256"],
        audience="mot-cua-portal",
        issuer=simulator.url,
    )
    assert (claims["sub"], claims["acr"], claims["nonce"]) == (NHUNG.sub, "2", "n-456")
    userinfo = requests.get(
        config["userinfo_endpoint"], headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
    ).json()
    assert userinfo == {
        "sub": NHUNG.sub,
        "name": "Nguyễn Thị Hồng Nhung",
        "given_name": "Thị Hồng Nhung",
        "family_name": "Nguyễn",
        "birthdate": "1995-03-14",
        "gender": "female",
        "so_dinh_danh": "001195012345",
        "acr": "2",
    }
    assert requests.get(simulator.url + "/healthz", timeout=10).json()["status"] == "ok"


def test_client_secret_basic_and_wrong_secrets(simulator):
    verifier, challenge = _pkce()
    code = _code(simulator, MINH, challenge)
    wrong = _token(simulator, code, verifier, client_secret="not-the-secret")
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    verifier, challenge = _pkce()
    code = _code(simulator, MINH, challenge)
    basic = requests.post(
        simulator.url + "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=("mot-cua-portal", "simulator-secret"),
        timeout=10,
    )
    assert basic.status_code == 200
    assert simulator.last_client_auth == "client_secret_basic"
    bad_basic = requests.post(
        simulator.url + "/token", data={"grant_type": "authorization_code"}, auth=("mot-cua-portal", "x"), timeout=10
    )
    assert bad_basic.status_code == 401
    assert "Basic" in bad_basic.headers["WWW-Authenticate"]


def test_pkce_is_required_and_checked(simulator):
    simulator.auto_approve = NHUNG.national_id
    for params in ({"code_challenge": None}, {"code_challenge_method": "plain"}, {"code_challenge_method": None}):
        response = _authorize(simulator, _pkce()[1], **params)
        location = parse_qs(urlsplit(response.headers["Location"]).query)
        assert location["error"] == ["invalid_request"]
        assert location["state"] == ["st-123"]
    verifier, challenge = _pkce()
    code = _code(simulator, NHUNG, challenge)
    response = _token(simulator, code, _pkce()[0])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    # A failed exchange burns the code.
    assert _token(simulator, code, verifier).json()["error"] == "invalid_grant"
    assert _token(simulator, _code(simulator, NHUNG, challenge), None).json()["error"] == "invalid_grant"


def test_codes_are_single_use_and_replay_revokes_the_access_token(simulator):
    verifier, challenge = _pkce()
    code = _code(simulator, NHUNG, challenge)
    first = _token(simulator, code, verifier)
    assert first.status_code == 200
    replay = _token(simulator, code, verifier)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    userinfo = requests.get(
        simulator.url + "/userinfo", headers={"Authorization": f"Bearer {first.json()['access_token']}"}, timeout=10
    )
    assert userinfo.status_code == 401
    assert 'error="invalid_token"' in userinfo.headers["WWW-Authenticate"]


def test_codes_expire_and_must_match_the_redirect_uri(simulator):
    verifier, challenge = _pkce()
    code = _code(simulator, NHUNG, challenge)
    other = _token(simulator, code, verifier, redirect_uri="http://127.0.0.1:9999/accounts/oidc/vneid/login/callback/")
    assert other.json()["error"] == "invalid_grant"
    code = _code(simulator, NHUNG, challenge)
    issued_at = simulator.clock()
    simulator.clock = lambda: issued_at + 61  # a minute later, without waiting a minute
    response = _token(simulator, code, verifier)
    assert response.status_code == 400
    assert "expired" in response.json()["error_description"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"client_id": "someone-else"}, "client_id"),
        ({"redirect_uri": "http://evil.example/accounts/oidc/vneid/login/callback/"}, "redirect_uri"),
        ({"redirect_uri": "http://127.0.0.1:1@evil.example/accounts/oidc/vneid/login/callback/"}, "redirect_uri"),
        ({"redirect_uri": "http://127.0.0.1:8000/accounts/oidc/vneid/login/callback/?next=//evil"}, "redirect_uri"),
    ],
)
def test_unknown_clients_and_redirect_uris_get_an_error_page_not_a_redirect(simulator, params, message):
    response = _authorize(simulator, _pkce()[1], **params)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert message in response.text


def test_other_request_errors_go_back_to_the_client(simulator):
    for params, error in (
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "profile"}, "invalid_scope"),
    ):
        response = _authorize(simulator, _pkce()[1], **params)
        assert response.status_code == 302
        assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == [error]


def test_chooser_page_lists_demo_citizens_and_approves_by_typed_id(simulator):
    verifier, challenge = _pkce()
    page = _authorize(simulator, challenge)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Đăng nhập bằng tài khoản định danh điện tử" in page.text
    for citizen in DEMO_CITIZENS:
        assert citizen.name in page.text
        assert citizen.national_id in page.text
    assert "src=" not in page.text
    assert "<link" not in page.text
    assert "<script" not in page.text
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "http://127.0.0.1:8000" in csp
    request_id = page.text.split('name="request_id" value="', 1)[1].split('"', 1)[0]

    unknown = requests.post(
        simulator.url + "/authorize", data={"request_id": request_id, "national_id": "001095999999"}, timeout=10
    )
    assert unknown.status_code == 400
    assert "Không có công dân demo" in unknown.text
    chosen = requests.post(
        simulator.url + "/authorize",
        data={"request_id": request_id, "national_id": MINH.national_id},
        allow_redirects=False,
        timeout=10,
    )
    assert chosen.status_code == 302
    back = parse_qs(urlsplit(chosen.headers["Location"]).query)
    assert back["state"] == ["st-123"]
    assert back["iss"] == [simulator.url]
    tokens = _token(simulator, back["code"][0], verifier).json()
    assert jwt.decode(tokens["id_token"], options={"verify_signature": False})["sub"] == MINH.sub
    # The pending request is spent.
    again = requests.post(
        simulator.url + "/authorize", data={"request_id": request_id, "national_id": MINH.national_id}, timeout=10
    )
    assert again.status_code == 400


def test_chooser_cancel_returns_access_denied(simulator):
    page = _authorize(simulator, _pkce()[1])
    request_id = page.text.split('name="request_id" value="', 1)[1].split('"', 1)[0]
    response = requests.post(
        simulator.url + "/authorize",
        data={"request_id": request_id, "action": "cancel"},
        allow_redirects=False,
        timeout=10,
    )
    back = parse_qs(urlsplit(response.headers["Location"]).query)
    assert back["error"] == ["access_denied"]
    assert back["state"] == ["st-123"]


def test_chooser_page_escapes_everything():
    hostile = DemoCitizen("001095012345", '<script>alert("x")</script>', "Văn & Co", "1995-01-01", "male", "2")
    server = start(port=0, citizens=[hostile], client_id='<b>"client"</b>')
    try:
        page = _authorize(server, _pkce()[1], client_id='<b>"client"</b>')
        assert page.status_code == 200
        assert "<script>" not in page.text
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page.text
        assert "Văn &amp; Co" in page.text
        assert "&lt;b&gt;&quot;client&quot;&lt;/b&gt;" in page.text
    finally:
        server.stop()


@pytest.mark.django_db
def test_login_flow_through_the_chooser_page(client, vneid_simulator):
    """The same flow a person clicks through: portal button, chooser page, citizen's button, back to the portal."""
    page = requests.get(_authorize_url(client), timeout=10)
    request_id = page.text.split('name="request_id" value="', 1)[1].split('"', 1)[0]
    chosen = requests.post(
        vneid_simulator.url + "/authorize",
        data={"request_id": request_id, "national_id": BAO.national_id},
        allow_redirects=False,
        timeout=10,
    )
    response = client.get(chosen.headers["Location"].removeprefix("http://testserver"))
    assert response.status_code == 302
    assert get_user(client).citizen_profile.full_name == "Phạm Quốc Bảo"
