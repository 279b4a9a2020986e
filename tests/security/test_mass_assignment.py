"""Mass assignment refused in forms and serializers (security.md T09; CWE-915).

Every writable form and serializer takes only its own fields; the extra fields an attacker adds (owner,
agency, state, applicant, is_staff…) are dropped or refused, and the rows written say what the service
decided, not what the request claimed.
"""

from __future__ import annotations

import json

import pytest
from django import forms
from rest_framework import serializers

from tests.security.route_world import PDF, national_headers

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(matrix_world):
    """The module's matrix world (tests/security/conftest.py)."""
    return matrix_world


# What an attacker adds to a request: who owns the row, where it belongs, its state, privileges.
EXTRA = {
    "user": "2",
    "owner": "2",
    "subject": "2",
    "applicant": "2",
    "applicant_user": "2",
    "applicant_national_id": "079088001234",
    "agency": "2",
    "facility": "2",
    "state": "closed",
    "status": "answered",
    "answer": "đã xử lý",
    "is_staff": "true",
    "is_superuser": "true",
    "created_by": "2",
    "issued_by": "2",
    "reference": "YC-GIA-MAO",
    "code": "GIA-MAO",
}


def writable_forms_and_serializers() -> list[type]:
    """Every project form and input serializer that takes data from a request."""
    from citizens import forms as citizen_forms
    from facilities import api as facility_api
    from integrations import api as gateway_api
    from integrations import reconciliation_views
    from privacy import forms as privacy_forms
    from procedures import api as procedure_api
    from procedures import api_national, views_counter
    from procedures import forms as procedure_forms

    found: list[type] = []
    for module in (
        citizen_forms,
        privacy_forms,
        procedure_forms,
        views_counter,
        reconciliation_views,
        facility_api,
        gateway_api,
        api_national,
    ):
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and value.__module__ == module.__name__
                and (issubclass(value, forms.BaseForm) or issubclass(value, serializers.Serializer))
                and not value.__name__.endswith(("Output", "Response", "ResponseSerializer"))
            ):
                found.append(value)
    found.append(procedure_api.DossierListCreateApi.InputSerializer)
    return found


def test_no_writable_form_or_serializer_declares_an_owner_state_or_privilege_field():
    classes = writable_forms_and_serializers()
    assert len(classes) >= 15
    privileged = set(EXTRA) - {"answer", "reference", "code", "subject", "status"}
    declared = {}
    for cls in classes:
        fields = set(getattr(cls, "base_fields", {})) or set(getattr(cls, "_declared_fields", {}))
        clash = fields & privileged
        if clash:
            declared[cls.__qualname__] = sorted(clash)
    # The facility API names the issuing facility nowhere; counter forms take the clerk's agency from the session.
    assert not declared, f"forms/serializers declaring owner, agency, state or privilege fields: {declared}"


def test_django_forms_drop_fields_they_do_not_declare():
    from privacy.forms import PrivacyRequestForm

    form = PrivacyRequestForm(data={"kind": "correction", "details": "Sửa địa chỉ", **EXTRA})
    assert form.is_valid(), form.errors
    assert set(form.cleaned_data) == {"kind", "details"}


def test_a_privacy_request_belongs_to_the_signed_in_person_whatever_the_post_says(world):
    from privacy.models import PrivacyRequest

    before = set(PrivacyRequest.objects.values_list("pk", flat=True))
    outcome = post(
        world, "citizen_a", "/privacy/requests/new/", {"kind": "correction", "details": "Sửa địa chỉ", **EXTRA}
    )
    assert outcome.status == 302, outcome.status
    (row,) = PrivacyRequest.objects.exclude(pk__in=before)
    assert row.subject == world.objects["citizen_a"]
    assert row.status not in ("answered", "closed") and row.answer == ""
    assert row.reference != "YC-GIA-MAO"


def test_feedback_belongs_to_its_sender_and_the_dossiers_agency(world):
    from citizens.models import Feedback

    dossier = world.objects["dossier"]
    before = set(Feedback.objects.values_list("pk", flat=True))
    data = {**EXTRA, "kind": "feedback", "about": f"d:{dossier.reference}", "subject": "Hỏi", "body": "Nội dung"}
    outcome = post(world, "citizen_a", "/me/feedback/", data)
    assert outcome.status == 302, outcome.status
    (row,) = Feedback.objects.exclude(pk__in=before)
    assert row.user == world.objects["citizen_a"] and row.agency_id == dossier.agency_id
    assert row.status == Feedback.Status.OPEN and row.answer == ""


def test_the_api_refuses_unknown_fields_when_a_citizen_applies(world):
    from procedures.models import Dossier

    count = Dossier.objects.count()
    client = world.client("citizen_a")
    response = client.post(
        "/api/v1/dossiers/",
        {
            "procedure": world.objects["procedure"].pk,
            "address": "Số 1 Phố Huế",
            "phone": "0912345678",
            "request_summary": "Đề nghị",
            "document": _pdf(),
            "state": "approved",
            "applicant_national_id": "079088001234",
        },
    )
    assert response.status_code == 400
    assert "state" in response.json()["detail"] and "applicant_national_id" in response.json()["detail"]
    assert Dossier.objects.count() == count


def test_the_national_portal_inbound_refuses_unknown_fields(world):
    body = json.dumps({"MaHoSoQuocGia": "X", "TrangThai": "approved", "agency": 2}).encode()
    path = "/api/v1/national-portal/ratings/"
    client = world.client("anonymous")
    response = client.post(path, data=body, content_type="application/json", **national_headers("POST", path, body))
    assert response.status_code == 400
    errors = response.json()
    assert "TrangThai" in json.dumps(errors) and "agency" in json.dumps(errors)


def test_a_facility_issues_only_as_itself_and_the_standard_keeps_only_its_fields(world):
    from facilities.models import HealthDocument
    from tests.facilities.conftest import birth_data, child

    key = world.roles["facility_api"].headers
    before = set(HealthDocument.objects.values_list("pk", flat=True))
    data = {**birth_data(), "facility": "99902", "issued_by": "2", "holder_hash": "x" * 64}
    payload = {"form": "01", "data": data, "children": [child()], "facility": "99902", "issued_via": "screen"}
    client = world.client("anonymous")
    response = client.post(
        "/api/v1/facilities/birth-certificates/", data=json.dumps(payload), content_type="application/json", **key
    )
    assert response.status_code in (201, 400), response.content[:300]
    created = HealthDocument.objects.exclude(pk__in=before)
    if response.status_code == 400:  # the standard refuses unknown fields: nothing issued
        assert not created.exists()
        assert "facility" in response.content.decode() or "holder_hash" in response.content.decode()
        return
    (document,) = created
    assert document.facility == world.objects["facility"] and document.issued_via == "api"
    assert not {"facility", "issued_by", "holder_hash"} & set(document.data)


def test_an_agency_staff_action_changes_only_what_the_action_changes(world):
    from procedures.models import Dossier

    dossier = world.objects["dossier"]
    officer = world.roles["officer_a"].user
    outcome = post(
        world,
        "leader_a",
        f"/workspace/d/{dossier.pk}/act/assign/",
        {"officer": officer.pk, **EXTRA, "agency": "999", "applicant_user": world.roles["citizen_b"].user.pk},
    )
    assert outcome.status == 302, outcome.status
    dossier = Dossier.objects.get(pk=dossier.pk)
    assert dossier.agency == world.objects["agency_a"] and dossier.applicant_id == world.objects["citizen_a"].pk
    assert dossier.assigned_to_id == officer.pk


def test_the_admin_answer_form_changes_only_the_answer(world):
    from citizens.models import Feedback

    feedback = world.objects["feedback"]
    outcome = post(
        world,
        "admin",
        f"/admin/citizens/feedback/{feedback.pk}/change/",
        {"answer": "Đã trả lời", "subject": "Bị sửa", "body": "Bị sửa", "agency": "999", "user": "2", "kind": "x"},
    )
    assert outcome.status == 302, outcome.status
    row = Feedback.objects.get(pk=feedback.pk)
    assert row.answer == "Đã trả lời"
    assert (row.subject, row.body, row.agency_id, row.user_id) == (
        feedback.subject,
        feedback.body,
        feedback.agency_id,
        feedback.user_id,
    )


# --- helpers ---------------------------------------------------------------------------------------------


def _pdf():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("don.pdf", PDF, content_type="application/pdf")


def post(world, role: str, url: str, data: dict):
    """POST a form as ROLE with a CSRF token; what it writes stays until the test's transaction ends."""
    from django.conf import settings

    from tests.security.route_world import CSRF_SECRET

    client = world.client(role, csrf=True)
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    response = client.post(url, data, HTTP_X_CSRFTOKEN=CSRF_SECRET)

    class Result:
        status = response.status_code

    return Result
