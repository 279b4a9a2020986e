"""Organisations sign in with the VNeID organisation account of the simulator (real OIDC code flow)."""

from __future__ import annotations

import pytest
import requests
from django.contrib.auth import get_user

from citizens.applicant import applicant_for
from citizens.models import CitizenProfile, OrganisationProfile
from integrations.vneid.simulator import DEMO_CITIZENS
from portal.crypto import pii_hash
from tests.fixtures.vneid import TEST_CLIENT_REDIRECT_URI

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/oidc/vneid/login/"
ORGANISATION = next(c for c in DEMO_CITIZENS if c.is_organisation)
NHUNG = DEMO_CITIZENS[0]


def sign_in(client, simulator, account):
    simulator.auto_approve = account.national_id
    response = client.post(LOGIN)
    back = requests.get(response["Location"], allow_redirects=False, timeout=10)
    location = back.headers["Location"]
    assert location.startswith(TEST_CLIENT_REDIRECT_URI + "?")
    return client.get(location.removeprefix("http://testserver"))


def test_organisation_account_signs_in_keyed_by_its_tax_code(client, vneid_simulator):
    response = sign_in(client, vneid_simulator, ORGANISATION)
    assert response.status_code == 302
    user = get_user(client)
    assert user.is_authenticated
    profile = OrganisationProfile.objects.get(user=user)
    assert profile.tax_code == "0109998877"
    assert profile.representative_name == "Đỗ Mạnh Hùng"
    assert profile.representative_national_id == ORGANISATION.national_id
    assert profile.representative_national_id_hash == pii_hash(ORGANISATION.national_id)
    assert not CitizenProfile.objects.filter(user=user).exists()
    applicant = applicant_for(user=user)
    assert applicant.is_organisation and applicant.display_name == ORGANISATION.organisation
    # The stored claims keep the tax code, never the representative's personal ID number.
    extra = user.socialaccount_set.get().extra_data
    assert ORGANISATION.national_id not in str(extra) and "0109998877" in str(extra)


def test_signing_in_again_reaches_the_same_organisation_account(client, vneid_simulator):
    sign_in(client, vneid_simulator, ORGANISATION)
    first = get_user(client).pk
    client.logout()
    sign_in(client, vneid_simulator, ORGANISATION)
    assert get_user(client).pk == first
    assert OrganisationProfile.objects.count() == 1


def test_citizen_and_organisation_accounts_stay_separate(client, vneid_simulator):
    sign_in(client, vneid_simulator, NHUNG)
    citizen = get_user(client).pk
    client.logout()
    sign_in(client, vneid_simulator, ORGANISATION)
    assert get_user(client).pk != citizen
    assert CitizenProfile.objects.count() == 1 and OrganisationProfile.objects.count() == 1


def test_a_bad_tax_code_is_refused(client, vneid_simulator):
    client.cookies["portal_language"] = "en"
    vneid_simulator.claim_overrides = {"ma_so_thue": "12AB"}
    response = sign_in(client, vneid_simulator, ORGANISATION)
    assert response.status_code == 403
    assert "valid tax/enterprise code" in response.content.decode()
    assert not OrganisationProfile.objects.exists()
