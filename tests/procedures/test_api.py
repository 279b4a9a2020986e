from __future__ import annotations

import re

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from procedures.models import Dossier
from tests.conftest import PNG_BYTES, pdf_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_anyone_lists_published_procedures(api, procedure):
    response = api.get("/api/v1/procedures/")
    assert response.status_code == 200
    assert response.json()[0]["code"] == "QT.YDCT.11"


def test_a_partner_with_a_token_submits_and_the_clerk_receives_through_the_api(
    api, procedure, citizen_nhung, clerk_lan, django_capture_on_commit_callbacks
):
    token = Token.objects.create(user=citizen_nhung)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api.post(
        "/api/v1/dossiers/",
        {
            "procedure": procedure.pk,
            "address": "Hà Nội",
            "phone": "0912345678",
            "request_summary": "Đề nghị",
            "document": pdf_upload(),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    reference = response.json()["reference"]
    assert response.json()["national_status"] == 1
    clerk = APIClient()
    clerk.force_authenticate(clerk_lan)
    pk = Dossier.objects.get(reference=reference).pk
    with django_capture_on_commit_callbacks(execute=False):
        received = clerk.post(f"/api/v1/staff/dossiers/{pk}/receive/")
    assert received.status_code == 200
    assert received.json()["state"] == "received"
    assert api.get(f"/api/v1/dossiers/{reference}/").json()["national_status"] == 2


def test_the_api_refuses_fields_a_caller_may_not_set(api, procedure, citizen_nhung):
    api.force_authenticate(citizen_nhung)
    response = api.post(
        "/api/v1/dossiers/",
        {
            "procedure": procedure.pk,
            "address": "Hà Nội",
            "phone": "0912345678",
            "request_summary": "Đề nghị",
            "document": pdf_upload(),
            "state": "received",
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert "state" in response.json()["detail"]
    assert not Dossier.objects.exists()


def test_the_api_checks_the_upload_by_content(api, procedure, citizen_nhung):
    from django.core.files.uploadedfile import SimpleUploadedFile

    api.force_authenticate(citizen_nhung)
    response = api.post(
        "/api/v1/dossiers/",
        {
            "procedure": procedure.pk,
            "address": "Hà Nội",
            "phone": "0912345678",
            "request_summary": "Đề nghị",
            "document": SimpleUploadedFile("x.pdf", PNG_BYTES),
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert "document" in response.json()
    assert not Dossier.objects.exists()


def test_another_citizen_gets_404_and_anonymous_401(api, submitted_dossier, citizen_outsider):
    assert api.get(f"/api/v1/dossiers/{submitted_dossier.reference}/").status_code in {401, 403}
    api.force_authenticate(citizen_outsider)
    assert api.get(f"/api/v1/dossiers/{submitted_dossier.reference}/").status_code == 404
    assert submitted_dossier.reference not in api.get("/api/v1/dossiers/").content.decode()


def test_a_clerk_of_another_agency_cannot_receive_through_the_api(api, submitted_dossier, clerk_other_agency):
    api.force_authenticate(clerk_other_agency)
    assert api.post(f"/api/v1/staff/dossiers/{submitted_dossier.pk}/receive/").status_code == 404


def test_the_openapi_schema_and_docs_page_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/dossiers/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    # Served locally: no script or stylesheet from another host (a CDN). Searching the page for the
    # letters "cdn" was flaky, since random CSRF tokens and nonces can contain them.
    assert not re.search(rb'(?:src|href)="(?:https?:)?//', docs.content)
