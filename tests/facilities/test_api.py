"""The REST API: API-key and session access, issuing, object-level access, reports, the schema."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from facilities.models import HealthDocument
from portal.models import AuditRecord
from tests.facilities.conftest import MOTHER_ID, birth_data, child, death_data

pytestmark = pytest.mark.django_db


def keyed(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_a_facility_system_issues_twins_with_its_api_key(api_key, facility):
    response = keyed(api_key).post(
        reverse("api:facility-birth-issue"),
        {"form": "01", "data": birth_data(children_count=2), "children": [child(), child(child_sex="1")]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    numbers = [d["number"] for d in response.json()["documents"]]
    assert numbers == ["00001.GCS.99001.26", "00002.GCS.99001.26"]
    assert all(d["delivery_status"] == "issued" and d["sha256"] for d in response.json()["documents"])
    assert "mother_name" not in response.json()["documents"][0]  # no personal data in the answer
    record = AuditRecord.objects.filter(action="facilities.document.issue").last()
    assert record.data["via"] == "api" and record.data["credential"] == api_key.split(".")[0]


def test_invalid_input_answers_400_naming_each_field_in_english_or_vietnamese(api_key):
    body = {"data": birth_data(mother_province_code="99"), "children": [child(child_sex="x")]}
    api = keyed(api_key)
    api.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the portal's language is chosen by cookie
    with translation.override("en"):
        response = api.post(reverse("api:facility-birth-issue"), body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["mother_province_code"] == ["Unknown province code 99."]
    assert errors["child1-child_sex"] == ["Choose one of the listed values."]
    assert not HealthDocument.objects.exists()


def test_a_wrong_key_is_refused_and_a_key_sees_only_its_facility(api_key, other_facility, issuer):
    from facilities.models import FacilityCredential
    from facilities.services import birth_certificates_issue

    assert keyed("abc.def").get(reverse("api:facility-documents")).status_code == 401
    assert APIClient().get(reverse("api:facility-documents")).status_code in (401, 403)
    (mine,) = birth_certificates_issue(issuer=issuer, data=birth_data(), children=[child()])
    _c, other_key = FacilityCredential.issue(facility=other_facility)
    other = keyed(other_key)
    assert other.get(reverse("api:facility-documents")).json()["count"] == 0
    assert other.get(reverse("api:facility-document", args=[mine.pk])).status_code == 404
    assert other.get(reverse("api:facility-document-pdf", args=[mine.pk])).status_code == 404
    own = keyed(api_key).get(reverse("api:facility-document", args=[mine.pk]))
    assert own.status_code == 200
    assert own.json()["data"]["mother_personal_id"] == MOTHER_ID
    assert AuditRecord.objects.filter(action="facilities.document.view", object_id=str(mine.pk)).exists()


def test_session_members_use_the_api_and_only_the_head_reissues(client, issuer_user, head_user, api_key):
    created = keyed(api_key).post(reverse("api:facility-death-issue"), {"data": death_data()}, format="json")
    assert created.status_code == 201
    pk = created.json()["id"]
    client.force_login(issuer_user)
    listed = client.get(reverse("api:facility-documents") + "?kind=death_notice")
    assert [d["number"] for d in listed.json()["results"]] == ["00001.GBT.99001.26"]
    body = {"reason": "loss", "note": "Gia đình làm mất"}
    assert (
        client.post(
            reverse("api:facility-document-reissue", args=[pk]), body, content_type="application/json"
        ).status_code
        == 403
    )
    client.force_login(head_user)
    again = client.post(reverse("api:facility-document-reissue", args=[pk]), body, content_type="application/json")
    assert again.status_code == 201, again.json()
    assert again.json()["revision"] == 2 and again.json()["supersedes"] == pk


def test_a_user_without_a_facility_is_refused(client, citizen_nhung, places_loaded):
    client.force_login(citizen_nhung)
    assert client.get(reverse("api:facility-documents")).status_code == 403


def test_report_and_rules_and_the_openapi_schema(api_key, client):
    keyed(api_key).post(
        reverse("api:facility-birth-issue"), {"data": birth_data(), "children": [child()]}, format="json"
    )
    report = keyed(api_key).get(reverse("api:facility-report")).json()
    assert report["issued_birth"] == 1 and report["delivered"] == 0 and report["corrected"] == 0
    rules = client.get(reverse("api:facility-rules")).json()
    assert [r["code"] for r in rules] == ["ND63-2024", "ND301-2026"]
    assert rules[0]["ack_working_hours"] == 2 and rules[0]["signed_data_working_hours"] == 4
    assert rules[0]["group_limits"]["birth"]["total_working_days"] == 3
    standards = client.get(reverse("api:facility-standards")).json()
    assert {"BYT-XML9-2024", "BYT-GCS-2025", "TT25-2025-M05"} == set(standards)
    schema = client.get(reverse("api-schema")).content.decode()
    assert "/api/v1/facilities/birth-certificates/" in schema
    assert "FacilityApiKey" in schema
