"""Catalogue: search without diacritics, filters, pages, versions pinned to dossiers, shipped data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from portal.errors import ApplicationError
from procedures import catalogue
from procedures.formschema import form_schema_errors
from procedures.generator import catalogue_generate
from procedures.models import Agency, Procedure, ProcedureFee, ProcedureStage, ProcedureVersion
from procedures.selectors import procedure_search
from procedures.text import search_normalise

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _language_reset():
    # The portal's language middleware activates the cookie's language in this thread; do not let
    # an English page leak into the next test.
    yield
    translation.deactivate()


@pytest.fixture
def licence(agency):
    return Procedure.objects.create(
        code="1.003844",
        name="Cấp giấy phép nhập khẩu TBYT",
        sector="Thiết bị y tế",
        agency=agency,
        applicant_type=Procedure.ApplicantType.ORGANISATION,
        service_level=Procedure.ServiceLevel.PARTIAL,
        time_limit_days=15,
        is_published=True,
    )


@pytest.fixture
def registration(other_agency):
    return Procedure.objects.create(
        code="1.013866",
        name="Đăng ký lưu hành mới chế phẩm diệt côn trùng",
        sector="Hóa chất, chế phẩm",
        agency=other_agency,
        applicant_type=Procedure.ApplicantType.BOTH,
        time_limit_days=30,
        is_published=True,
    )


def codes(qs):
    return sorted(p.code for p in qs)


def test_normalise_strips_diacritics_case_and_d_stroke():
    assert search_normalise("Cấp GIẤY phép") == "cap giay phep"
    assert search_normalise("ĐĂNG  KÝ đơn") == "dang ky don"
    assert search_normalise("Thừa nhận tiêu chuẩn") == "thua nhan tieu chuan"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cap giay phep", ["1.003844"]),
        ("Cấp giấy phép", ["1.003844"]),
        ("CAP GIAY", ["1.003844"]),
        ("dang ky", ["1.013866"]),
        ("Đăng ký", ["1.013866"]),
        ("đang ky", ["1.013866"]),
        ("1.0138", ["1.013866"]),
        ("tbyt nhap", ["1.003844"]),
        ("giay dang", []),
        ("", ["1.003844", "1.013866", "QT.YDCT.11"]),
    ],
)
def test_search_ignores_diacritics_case_and_d(query, expected, licence, registration, procedure):
    assert codes(procedure_search(q=query)) == expected


def test_search_finds_by_agency_name_without_diacritics(licence, registration):
    assert codes(procedure_search(q="duoc co truyen")) == ["1.003844"]  # its agency: Cục Quản lý Y, Dược cổ truyền
    assert codes(procedure_search(q="cuc quan ly duoc")) == ["1.003844", "1.013866"]


def test_filters_by_sector_agency_level_and_applicant(licence, registration, procedure, other_agency):
    assert codes(procedure_search(sector="Thiết bị y tế")) == ["1.003844"]
    assert codes(procedure_search(agency=other_agency.code)) == ["1.013866"]
    assert codes(procedure_search(service_level="partial")) == ["1.003844"]
    assert codes(procedure_search(applicant_type="citizen")) == ["1.013866"]
    assert codes(procedure_search(applicant_type="organisation")) == ["1.003844", "1.013866"]


def test_unpublished_procedures_are_not_found(licence):
    catalogue.procedure_unpublish(procedure=licence)
    assert codes(procedure_search(q="giay phep")) == []


def test_search_text_follows_edits(licence):
    licence.name = "Cấp đổi giấy chứng nhận"
    licence.save()
    assert codes(procedure_search(q="cap doi")) == ["1.003844"]


def test_catalogue_page_searches_and_filters(client, licence, registration):
    page = client.get(reverse("procedures:catalogue"), {"q": "dang ky"}).content.decode()
    assert "Đăng ký lưu hành mới" in page
    assert "Cấp giấy phép nhập khẩu" not in page
    page = client.get(reverse("procedures:catalogue"), {"sector": "Thiết bị y tế"}).content.decode()
    assert "Cấp giấy phép nhập khẩu" in page
    assert "Đăng ký lưu hành mới" not in page


def test_catalogue_page_is_paginated(client, agency):
    catalogue_generate(count=45, seed=1)
    first = client.get(reverse("procedures:catalogue"), {"q": "lt."}).content.decode()
    assert "LT.000001" in first
    assert "LT.000021" not in first
    assert 'rel="next"' in first
    assert "q=lt." in first
    third = client.get(reverse("procedures:catalogue"), {"q": "lt.", "page": 3}).content.decode()
    assert "LT.000045" in third
    assert 'rel="next"' not in third


def test_procedure_page_shows_what_is_needed_before_applying(client, licence):
    ProcedureFee.objects.create(
        procedure=licence, name="Phí thẩm định", amount_vnd=1500000, timing=ProcedureFee.Timing.AT_RECEIPT
    )
    ProcedureFee.objects.create(
        procedure=licence, name="Phí giảm tạm thời", amount_vnd=750000, valid_to=dt.date(2020, 12, 31)
    )
    licence.documents.create(name="Đơn đề nghị", copy_type=0, replaced_by="population_db")
    licence.legal_basis = "Nghị định 98/2021/NĐ-CP"
    licence.return_postal = True
    licence.save()
    page = client.get(reverse("procedures:procedure-detail", args=[licence.pk])).content.decode()
    assert "Phí thẩm định" in page
    assert "1.500.000 VND" in page
    assert "Phí giảm tạm thời" not in page  # its reduced-fee window has ended
    assert "Đơn đề nghị" in page
    assert "Nghị định 98/2021/NĐ-CP" in page
    assert "15 ngày làm việc" in page or "15 working days" in page


def test_unknown_values_show_as_unknown_and_apply_is_closed(client, db):
    p = Procedure.objects.create(code="1.012278", name="Cấp mới giấy phép hoạt động", is_published=True)
    page = client.get(reverse("procedures:procedure-detail", args=[p.pk])).content.decode()
    assert page.count('class="unknown"') >= 5
    assert 'name="request_summary"' not in page
    assert not p.can_apply_online


def test_illustrative_parts_are_labelled_on_the_page(client, licence):
    licence.illustrative_parts = ["documents"]
    licence.save()
    licence.documents.create(name="Văn bản đề nghị (minh họa)")
    page = client.get(reverse("procedures:procedure-detail", args=[licence.pk])).content.decode()
    assert "documents" in licence.illustrative_parts
    assert 'class="tag"' in page


# --- versions -------------------------------------------------------------------------------------


def test_publish_freezes_a_version_and_edits_make_new_ones(licence):
    v1 = catalogue.procedure_publish(procedure=licence)
    assert v1.number == 1
    assert v1.time_limit_days == 15
    assert catalogue.procedure_version_freeze(procedure=licence) == v1  # nothing changed
    licence.time_limit_days = 20
    licence.save()
    v2 = catalogue.procedure_version_freeze(procedure=licence)
    assert v2.number == 2
    assert v2.snapshot["time_limit_days"] == 20
    licence.refresh_from_db()
    assert licence.current_version == v2
    ProcedureStage.objects.create(procedure=licence, name="Thẩm định", role="specialist", budget=5)
    assert catalogue.procedure_version_freeze(procedure=licence).number == 3


def test_a_dossier_keeps_its_version_when_the_procedure_changes(submitted_dossier, procedure, clerk_lan):
    from procedures.services import dossier_receive

    pinned = submitted_dossier.procedure_version
    assert pinned is not None
    assert pinned.time_limit_days == 150
    procedure.time_limit_days = 1
    procedure.save()
    catalogue.procedure_version_freeze(procedure=procedure)
    dossier = dossier_receive(dossier_id=submitted_dossier.pk, actor=clerk_lan)
    assert dossier.procedure_version == pinned
    assert (dossier.due_at.date() - dossier.received_at.date()).days > 150  # 150 working days, not 1


def test_receiving_without_a_time_limit_is_refused(submitted_dossier, clerk_lan):
    version = submitted_dossier.procedure_version
    ProcedureVersion.objects.filter(pk=version.pk).update(time_limit_days=None)
    from procedures.services import dossier_receive

    with translation.override("en"), pytest.raises(ApplicationError, match="time limit"):
        dossier_receive(dossier_id=submitted_dossier.pk, actor=clerk_lan)


def test_publishing_refuses_stage_budgets_over_the_time_limit(licence):
    ProcedureStage.objects.create(procedure=licence, name="Thẩm định", role="specialist", budget=10)
    ProcedureStage.objects.create(procedure=licence, name="Ký", role="signing", budget=6)
    with pytest.raises(ApplicationError, match="16"):
        catalogue.procedure_publish(procedure=licence)


def test_duplicate_copies_children_as_an_unpublished_draft(licence):
    ProcedureStage.objects.create(procedure=licence, name="Thẩm định", role="specialist", budget=5)
    ProcedureFee.objects.create(procedure=licence, name="Phí", amount_vnd=100000)
    copy = catalogue.procedure_duplicate(procedure=licence)
    assert copy.code == "1.003844-copy"
    assert not copy.is_published
    assert copy.stages.count() == 1
    assert copy.fees.count() == 1
    assert catalogue.procedure_duplicate(procedure=licence).code == "1.003844-copy2"


def test_agency_identifier_on_a_date(agency):
    agency.identifiers.create(code="000.00.15.G18", scheme="qcvn102_2016", valid_to=dt.date(2025, 6, 30))
    agency.identifiers.create(code=agency.code, scheme="qd09_2025", valid_from=dt.date(2025, 7, 1))
    agency = Agency.objects.prefetch_related("identifiers").get(pk=agency.pk)
    assert agency.identifier_on(dt.date(2024, 1, 1)) == "000.00.15.G18"
    assert agency.identifier_on(dt.date(2026, 1, 1)) == agency.code


# --- form schema ----------------------------------------------------------------------------------

GOOD_SCHEMA = {
    "version": 1,
    "fields": [
        {
            "name": "kind",
            "type": "choice",
            "label": {"vi": "Loại", "en": "Kind"},
            "options": [{"value": "a", "label": {"vi": "A"}}],
        },
        {"name": "org", "type": "text", "label": {"vi": "Tổ chức"}, "show_if": {"field": "kind", "equals": "a"}},
        {
            "name": "rows",
            "type": "group",
            "label": {"vi": "Dòng"},
            "fields": [{"name": "x", "type": "number", "label": {"vi": "X"}}],
        },
    ],
}


def test_a_good_form_schema_has_no_errors():
    assert form_schema_errors(GOOD_SCHEMA) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda s: s.pop("version"), "'version' is a required property"),
        (lambda s: s["fields"][0].update(type="colour"), "fields[0].type"),
        (lambda s: s["fields"][0].pop("options"), "fields[0].options: a choice field needs options"),
        (lambda s: s["fields"][1].update(name="kind"), "fields[1].name: duplicate field name 'kind'"),
        (lambda s: s["fields"][1]["show_if"].update(field="later"), "fields[1].show_if.field"),
        (lambda s: s["fields"][2].pop("fields"), "fields[2].fields: a repeating group needs its fields"),
        (lambda s: s["fields"][1].update(validation={"pattern": "(["}), "fields[1].validation.pattern"),
        (lambda s: s["fields"][1].update(label={"en": "no vi"}), "fields[1].label"),
        (lambda s: s["fields"][1].update(validation={"min": 5, "max": 1}), "fields[1].validation.min"),
    ],
)
def test_each_broken_form_schema_is_reported_with_where(mutate, expected):
    import copy

    schema = copy.deepcopy(GOOD_SCHEMA)
    mutate(schema)
    with translation.override("en"):
        errors = form_schema_errors(schema)
    assert any(expected in e for e in errors), errors


def test_form_schema_problems_are_told_in_vietnamese():
    import copy

    schema = copy.deepcopy(GOOD_SCHEMA)
    schema.pop("version")
    schema["fields"][0].pop("options")
    with translation.override("vi"):
        assert any("'version' là trường bắt buộc" in e for e in form_schema_errors(schema))
    schema = copy.deepcopy(GOOD_SCHEMA)
    schema["fields"][0].pop("options")
    with translation.override("vi"):
        assert form_schema_errors(schema) == ["fields[0].options: trường lựa chọn phải có các phương án"]


# --- shipped data and generator -------------------------------------------------------------------


def test_the_shipped_catalogue_loads_with_only_sourced_facts(db):
    call_command("load_catalogue")
    assert Procedure.objects.filter(is_published=True).count() == 54
    p = Procedure.objects.get(code="1.003006")
    assert p.time_limit_days == 0
    assert p.agency is None
    fee = p.fees.get()
    assert fee.amount_vnd == 1500000
    assert fee.valid_to == dt.date(2026, 12, 31)
    assert fee.timing == ""
    assert Procedure.objects.get(code="3.000449").fees_known
    assert not Procedure.objects.get(code="3.000449").fees.exists()
    unknown = Procedure.objects.get(code="1.003925")
    assert unknown.time_limit_days is None
    assert not unknown.fees_known
    assert unknown.legal_basis == ""
    assert set(unknown.illustrative_parts) == {"documents", "stages", "form"}
    assert all(form_schema_errors(x.form_schema) == [] for x in Procedure.objects.all())
    call_command("load_catalogue")  # idempotent: same versions
    assert ProcedureVersion.objects.filter(procedure=p).count() == 1


def test_demo_data_loads_the_shipped_catalogue(settings):
    from procedures.demo import demo_data_load

    result = demo_data_load()
    assert result["catalogue_created"] == 54
    assert Procedure.objects.get(code="QT.YDCT.11").current_version is not None


def test_generator_makes_searchable_illustrative_procedures(db):
    assert catalogue_generate(count=30, seed=7) == 30
    assert Procedure.objects.filter(is_illustrative=True, is_published=True).count() == 30
    p = Procedure.objects.order_by("code").first()
    assert p.code == "LT.000001"
    assert p.search_text == search_normalise(p.search_text)
    assert (
        catalogue.stage_budget_error(
            time_limit_days=p.time_limit_days, time_limit_hours=None, budgets=[s.budget for s in p.stages.all()]
        )
        is None
    )


# --- API ------------------------------------------------------------------------------------------


def test_api_searches_filters_and_pages(client, licence, registration, procedure):
    response = client.get("/api/v1/procedures/", {"q": "dang ky"})
    assert [p["code"] for p in response.json()] == ["1.013866"]
    assert response["X-Total-Count"] == "1"
    response = client.get("/api/v1/procedures/", {"applicant_type": "organisation", "page_size": 1})
    assert [p["code"] for p in response.json()] == ["1.003844"]
    assert response["X-Total-Count"] == "2"
    assert 'rel="next"' in response["Link"]
    assert "page=2" in response["Link"]
    second = client.get("/api/v1/procedures/", {"applicant_type": "organisation", "page_size": 1, "page": 2})
    assert [p["code"] for p in second.json()] == ["1.013866"]
    assert 'rel="prev"' in second["Link"]
    assert client.get("/api/v1/procedures/", {"service_level": "level4"}).status_code == 400
    assert client.get("/api/v1/procedures/", {"page_size": 1000}).status_code == 400


def test_api_detail_gives_everything_needed_before_applying(client, licence):
    ProcedureStage.objects.create(procedure=licence, name="Thẩm định", role="specialist", budget=10)
    ProcedureFee.objects.create(procedure=licence, name="Phí", amount_vnd=1500000, timing="1")
    licence.documents.create(name="Đơn đề nghị")
    catalogue.procedure_publish(procedure=licence)
    data = client.get(f"/api/v1/procedures/{licence.code}/").json()
    assert data["code"] == "1.003844"
    assert data["version"] == 1
    assert data["apply_online"] is True
    assert data["fees"][0]["amount_vnd"] == 1500000
    assert data["fees"][0]["timing"] == "1"
    assert data["stages"][0]["role"] == "specialist"
    assert data["documents"][0]["name"] == "Đơn đề nghị"
    catalogue.procedure_unpublish(procedure=licence)
    assert client.get(f"/api/v1/procedures/{licence.code}/").status_code == 404


def test_templates_are_downloadable_from_the_procedure_page(client, licence, settings, tmp_path):
    from django.core.files.base import ContentFile

    from tests.conftest import MINIMAL_PDF

    settings.MEDIA_ROOT = tmp_path
    document = licence.documents.create(name="Đơn đề nghị")
    document.template.save("mau-don.docx", ContentFile(b"PK\x03\x04 template"), save=True)
    licence.result_template.save("giay-phep.pdf", ContentFile(MINIMAL_PDF), save=True)
    page = client.get(reverse("procedures:procedure-detail", args=[licence.pk])).content.decode()
    url = reverse("procedures:procedure-document-template", args=[licence.pk, document.pk])
    assert url in page
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"PK\x03\x04 template"
    sample = client.get(reverse("procedures:procedure-result-template", args=[licence.pk]))
    assert sample.status_code == 200
    other = licence.documents.create(name="Không có mẫu")
    assert client.get(reverse("procedures:procedure-document-template", args=[licence.pk, other.pk])).status_code == 404
    catalogue.procedure_unpublish(procedure=licence)
    assert client.get(url).status_code == 404
