"""Admin round trips: create with inlines, edit, version, publish, duplicate, preview and every refusal."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation

from procedures.models import Procedure, ProcedureVersion
from tests.conftest import totp_enrol

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _language_reset():
    # The portal's language middleware activates the cookie's language in this thread; do not let
    # an English page leak into the next test.
    yield
    translation.deactivate()


SCHEMA = {
    "version": 1,
    "fields": [
        {"name": "org", "type": "text", "label": {"vi": "Tên tổ chức", "en": "Organisation"}, "required": True},
        {
            "name": "items",
            "type": "group",
            "label": {"vi": "Sản phẩm"},
            "fields": [{"name": "n", "type": "text", "label": {"vi": "Tên"}}],
        },
    ],
}


@pytest.fixture
def admin_client(client, agency):
    user = totp_enrol(get_user_model().objects.create_superuser("root", "root@example.vn", "admin-password-2026"))
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # assertions do not depend on translations
    return client


def management(prefix, total, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def procedure_post(agency, *, code="1.003844", schema=SCHEMA, days="15", stages=(), fees=(), docs=(), **extra):
    data = {
        "code": code,
        "level": "central",
        "name": "Cấp giấy phép nhập khẩu TBYT",
        "name_en": "Import licence for medical devices",
        "sector": "Thiết bị y tế",
        "sector_en": "",
        "sector_code": "",
        "agency": str(agency.pk),
        "applicant_type": "organisation",
        "representative_allowed": "true",
        "legal_basis": "",
        "source": "",
        "description": "",
        "service_level": "full",
        "return_online": "on",
        "result_kind": "licence",
        "result_name": "Giấy phép nhập khẩu",
        "time_limit_days": days,
        "time_limit_hours": "",
        "time_limit_note": "",
        "cutoff_time": "15:00",
        "cutoff_applies_to": "transfer",
        "on_supplement": "pause",
        "fees_known": "on",
        "form_schema": json.dumps(schema) if isinstance(schema, dict) else schema,
        "illustrative_parts": "[]",
        **management("stages", len(stages)),
        **management("fees", len(fees)),
        **management("documents", len(docs)),
        **management("versions", 0),
    }
    for i, (name, role, budget) in enumerate(stages):
        data.update(
            {
                f"stages-{i}-order": str(i + 1),
                f"stages-{i}-name": name,
                f"stages-{i}-role": role,
                f"stages-{i}-budget": budget,
            }
        )
    for i, (name, amount) in enumerate(fees):
        data.update(
            {f"fees-{i}-name": name, f"fees-{i}-kind": "1", f"fees-{i}-amount_vnd": amount, f"fees-{i}-timing": "1"}
        )
    for i, (name, types) in enumerate(docs):
        data.update(
            {
                f"documents-{i}-order": str(i + 1),
                f"documents-{i}-name": name,
                f"documents-{i}-copy_type": "1",
                f"documents-{i}-copies": "1",
                f"documents-{i}-required": "on",
                f"documents-{i}-accepted_types": types,
                f"documents-{i}-max_size_mb": "10",
                f"documents-{i}-replaced_by": "",
            }
        )
    data.update(extra)
    return data


ADD = reverse("admin:procedures_procedure_add")


def errors_of(response) -> str:
    assert response.status_code == 200, "expected the form again, with errors"
    return response.content.decode()


def test_admin_creates_a_procedure_with_stages_fees_and_checklist(admin_client, agency):
    response = admin_client.post(
        ADD,
        procedure_post(
            agency,
            stages=[("Tiếp nhận", "reception", "1"), ("Thẩm định", "specialist", "10")],
            fees=[("Phí thẩm định", "1500000")],
            docs=[("Đơn đề nghị", "PDF, .jpg")],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    p = Procedure.objects.get(code="1.003844")
    assert p.stages.count() == 2
    assert p.fees.get().amount_vnd == 1500000
    assert p.documents.get().accepted_types == "pdf,jpg"
    assert p.representative_allowed is True
    assert not p.is_published
    assert p.current_version is None
    assert p.search_text.startswith("1.003844 cap giay phep")


def test_a_broken_form_schema_is_refused_with_where(admin_client, agency):
    bad = {"version": 1, "fields": [{"name": "x", "type": "colour", "label": {"vi": "X"}}]}
    page = errors_of(admin_client.post(ADD, procedure_post(agency, schema=bad)))
    assert "fields[0].type" in page
    assert "colour" in page
    page = errors_of(admin_client.post(ADD, procedure_post(agency, schema="{not json")))
    assert "JSON" in page
    assert not Procedure.objects.exists()


def test_stage_budgets_over_the_time_limit_are_refused(admin_client, agency):
    post = procedure_post(agency, days="10", stages=[("Thẩm định", "specialist", "8"), ("Ký", "signing", "3")])
    page = errors_of(admin_client.post(ADD, post))
    assert "11" in page
    assert "10" in page
    assert "errorlist" in page
    assert not Procedure.objects.exists()


def test_a_duplicate_code_is_refused(admin_client, agency, procedure):
    page = errors_of(admin_client.post(ADD, procedure_post(agency, code=procedure.code)))
    assert "already exists" in page or "đã tồn tại" in page
    assert Procedure.objects.count() == 1


def test_a_negative_fee_is_refused(admin_client, agency):
    page = errors_of(admin_client.post(ADD, procedure_post(agency, fees=[("Phí", "-5000")])))
    assert "-5000" in page
    assert "negative" in page or "âm" in page
    assert not Procedure.objects.exists()


def test_an_unknown_file_type_is_refused(admin_client, agency):
    page = errors_of(admin_client.post(ADD, procedure_post(agency, docs=[("Đơn", "exe")])))
    assert "exe" in page
    assert not Procedure.objects.exists()


def test_days_and_hours_together_are_refused(admin_client, agency):
    page = errors_of(admin_client.post(ADD, procedure_post(agency, time_limit_hours="8")))
    assert "time_limit_hours" in page or "giờ" in page
    assert not Procedure.objects.exists()


def test_publish_edit_version_unpublish_round_trip(admin_client, agency):
    admin_client.post(ADD, procedure_post(agency, stages=[("Thẩm định", "specialist", "10")]))
    p = Procedure.objects.get()
    response = admin_client.post(reverse("admin:procedures_procedure_publish", args=[p.pk]))
    assert response.status_code == 302
    p.refresh_from_db()
    assert p.is_published
    assert p.current_version.number == 1
    assert admin_client.get(reverse("procedures:procedure-detail", args=[p.pk])).status_code == 200

    change = reverse("admin:procedures_procedure_change", args=[p.pk])
    post = procedure_post(agency, days="20", stages=[])
    post.update(management("stages", 1, 1))
    stage = p.stages.get()
    post.update(
        {
            "stages-0-id": str(stage.pk),
            "stages-0-procedure": str(p.pk),
            "stages-0-order": "1",
            "stages-0-name": "Thẩm định",
            "stages-0-role": "specialist",
            "stages-0-budget": "12",
        }
    )
    response = admin_client.post(change, post)
    assert response.status_code == 302, response.content.decode()[:3000]
    p.refresh_from_db()
    assert p.current_version.number == 2
    assert p.current_version.snapshot["stages"][0]["budget"] == "12"
    assert ProcedureVersion.objects.get(procedure=p, number=1).time_limit_days == 15

    assert admin_client.post(change, post).status_code == 302  # saved again, unchanged: no new version
    assert ProcedureVersion.objects.filter(procedure=p).count() == 2

    admin_client.post(reverse("admin:procedures_procedure_unpublish", args=[p.pk]))
    p.refresh_from_db()
    assert not p.is_published
    assert admin_client.get(reverse("procedures:procedure-detail", args=[p.pk])).status_code == 404


def test_publish_button_refuses_a_procedure_with_problems(admin_client, agency, procedure):
    procedure.stages.create(name="Thẩm định", role="specialist", budget=200)
    procedure.is_published = False
    procedure.save()
    response = admin_client.post(reverse("admin:procedures_procedure_publish", args=[procedure.pk]), follow=True)
    assert "150" in response.content.decode()
    assert "200" in response.content.decode()
    procedure.refresh_from_db()
    assert not procedure.is_published


def test_publish_only_by_post(admin_client, procedure):
    assert admin_client.get(reverse("admin:procedures_procedure_publish", args=[procedure.pk])).status_code == 405


def test_duplicate_button_and_action(admin_client, procedure):
    response = admin_client.post(reverse("admin:procedures_procedure_duplicate", args=[procedure.pk]))
    copy = Procedure.objects.get(code="QT.YDCT.11-copy")
    assert response["Location"] == reverse("admin:procedures_procedure_change", args=[copy.pk])
    admin_client.post(
        reverse("admin:procedures_procedure_changelist"),
        {"action": "duplicate_selected", "_selected_action": [procedure.pk]},
    )
    assert Procedure.objects.filter(code="QT.YDCT.11-copy2").exists()


def test_publish_and_unpublish_actions(admin_client, procedure):
    changelist = reverse("admin:procedures_procedure_changelist")
    admin_client.post(changelist, {"action": "unpublish_selected", "_selected_action": [procedure.pk]})
    procedure.refresh_from_db()
    assert not procedure.is_published
    admin_client.post(changelist, {"action": "publish_selected", "_selected_action": [procedure.pk]})
    procedure.refresh_from_db()
    assert procedure.is_published
    assert procedure.current_version.number == 1


def test_form_preview_renders_the_schema(admin_client, agency):
    admin_client.post(ADD, procedure_post(agency))
    p = Procedure.objects.get()
    page = admin_client.get(reverse("admin:procedures_procedure_preview", args=[p.pk])).content.decode()
    assert "Organisation" in page  # English label: the admin page is in English here
    assert 'for="preview-org"' in page
    assert "Sản phẩm" in page  # no English label given: the Vietnamese one


def test_changelist_search_and_filters(admin_client, procedure):
    changelist = reverse("admin:procedures_procedure_changelist")
    assert "QT.YDCT.11" in admin_client.get(changelist, {"q": "hai thuong lan ong"}).content.decode()
    assert admin_client.get(changelist, {"is_published__exact": "1"}).status_code == 200


def test_agency_identifiers_with_overlapping_periods_are_refused(admin_client, agency):
    change = reverse("admin:procedures_agency_change", args=[agency.pk])
    data = {
        "code": agency.code,
        "name": agency.name,
        "name_en": "",
        "working_hours": "08:00-12:00,13:00-17:00",
        "identifiers-TOTAL_FORMS": "2",
        "identifiers-INITIAL_FORMS": "0",
        "identifiers-MIN_NUM_FORMS": "0",
        "identifiers-MAX_NUM_FORMS": "1000",
        "identifiers-0-code": "000.00.15.G18",
        "identifiers-0-scheme": "qcvn102_2016",
        "identifiers-0-valid_from": "",
        "identifiers-0-valid_to": "2025-07-31",
        "identifiers-1-code": agency.code,
        "identifiers-1-scheme": "qd09_2025",
        "identifiers-1-valid_from": "2025-07-01",
        "identifiers-1-valid_to": "",
    }
    page = errors_of(admin_client.post(change, data))
    assert "000.00.15.G18" in page
    assert agency.identifiers.count() == 0
    data["identifiers-0-valid_to"] = "2025-06-30"
    assert admin_client.post(change, data).status_code == 302
    assert agency.identifiers.count() == 2


def test_versions_are_listed_read_only(admin_client, procedure):
    from procedures import catalogue

    version = catalogue.procedure_publish(procedure=procedure)
    page = admin_client.get(reverse("admin:procedures_procedureversion_changelist")).content.decode()
    assert "QT.YDCT.11" in page
    detail = admin_client.get(reverse("admin:procedures_procedureversion_change", args=[version.pk]))
    assert detail.status_code == 200
    assert admin_client.post(reverse("admin:procedures_procedureversion_delete", args=[version.pk])).status_code == 403


def test_admin_pages_render_with_their_tools(admin_client, procedure):
    assert admin_client.get(ADD).status_code == 200
    page = admin_client.get(reverse("admin:procedures_procedure_change", args=[procedure.pk])).content.decode()
    for tool in ("Preview form", "Unpublish", "Duplicate"):
        assert tool in page
    changelist = admin_client.get(reverse("admin:procedures_procedure_changelist")).content.decode()
    assert "Export XLSX" in changelist
    assert admin_client.get(reverse("admin:procedures_procedure_import")).status_code == 200
    assert admin_client.get(reverse("admin:procedures_agency_change", args=[procedure.agency.pk])).status_code == 200
