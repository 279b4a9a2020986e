"""Import and export of the catalogue: JSON and XLSX round trips, all-or-nothing, every bad row reported."""

from __future__ import annotations

import json

import pytest
import tablib
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from procedures import catalogue
from procedures.catalogue_io import catalogue_export, catalogue_import
from procedures.models import Procedure, ProcedureFee, ProcedureStage
from tests.conftest import totp_enrol

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _language_reset():
    # The portal's language middleware activates the cookie's language in this thread; do not let
    # an English page leak into the next test.
    yield
    translation.deactivate()


@pytest.fixture
def configured(procedure):
    ProcedureStage.objects.create(procedure=procedure, order=1, name="Tiếp nhận", role="reception", budget="1")
    ProcedureStage.objects.create(procedure=procedure, order=2, name="Thẩm định", role="specialist", budget="100.5")
    ProcedureFee.objects.create(
        procedure=procedure, name="Lệ phí", amount_vnd=0, timing="4", valid_from="2025-07-01", valid_to="2026-12-31"
    )
    procedure.documents.create(name="Bản khai thành tích", copy_type=0, accepted_types="pdf,docx")
    procedure.form_schema = {"version": 1, "fields": [{"name": "x", "type": "text", "label": {"vi": "Ô"}}]}
    procedure.cutoff_time = None
    procedure.save()
    catalogue.procedure_publish(procedure=procedure)
    return procedure


def dump(code: str) -> dict:
    data = catalogue.procedure_as_dict(Procedure.objects.get(code=code))
    data.pop("result_template")
    return data


@pytest.mark.parametrize("fmt", ["json", "xlsx"])
def test_export_then_import_gives_the_same_catalogue(configured, fmt):
    before = dump(configured.code)
    content, _ = catalogue_export(Procedure.objects.all(), fmt=fmt)
    # Import into an empty catalogue: everything comes back, published, with the same content.
    Procedure.objects.filter(pk=configured.pk).update(current_version=None)
    configured.versions.all().delete()
    configured.delete()
    report = catalogue_import(content=content, filename=f"catalogue.{fmt}")
    assert report.ok, [str(e) for e in report.errors]
    assert (report.created, report.updated) == (1, 0)
    assert dump(configured.code) == before
    assert Procedure.objects.get(code=configured.code).is_published


def test_importing_the_same_file_again_makes_no_new_version(configured):
    content, _ = catalogue_export(Procedure.objects.all(), fmt="json")
    report = catalogue_import(content=content, filename="c.json")
    assert report.ok
    assert report.updated == 1
    assert configured.versions.count() == 1


def test_an_import_that_changes_a_published_procedure_makes_a_new_version(configured):
    rows = json.loads(catalogue_export(Procedure.objects.all(), fmt="json")[0])
    rows[0]["time_limit_days"] = 160
    assert catalogue_import(content=json.dumps(rows).encode(), filename="c.json").ok
    configured.refresh_from_db()
    assert configured.current_version.number == 2
    assert configured.current_version.time_limit_days == 160


def good_row(code="1.003925", **extra):
    return {"code": code, "name": "Cấp mới số lưu hành TBYT", "is_published": True, **extra}


def test_an_import_with_any_bad_row_writes_nothing_and_reports_each(agency):
    rows = [
        good_row("1.000001"),
        good_row("1.000002", fees=[{"name": "Phí", "amount_vnd": -1}]),
        good_row("bad code!"),
        good_row("1.000003", time_limit_days=5, stages=[{"name": "A", "role": "specialist", "budget": 6}]),
        good_row("1.000004", form_schema={"version": 1, "fields": [{"name": "x", "type": "?", "label": {"vi": "X"}}]}),
        good_row("1.000001"),
        good_row("1.000005", agency="G99.999"),
        good_row("1.000006", documents=[{"name": "Đơn", "accepted_types": "exe"}]),
        {"code": "1.000007"},
        good_row("1.000008", service_level="level4"),
    ]
    with translation.override("en"):  # the messages are built in the user's language
        report = catalogue_import(content=json.dumps(rows).encode(), filename="c.json")
    assert not report.ok
    assert not Procedure.objects.exclude(pk__in=[]).filter(code__startswith="1.00000").exists()
    lines = {(e.line, e.field) for e in report.errors}
    assert (2, "fees[1].amount_vnd") in lines
    assert (3, "code") in lines
    assert (4, "stages") in lines
    assert (5, "form_schema") in lines
    assert (6, "code") in lines  # duplicate of line 1
    assert (7, "agency") in lines
    assert (8, "documents[1].accepted_types") in lines
    assert (9, "name") in lines
    assert (10, "service_level") in lines
    assert all(e.line != 1 for e in report.errors)
    with translation.override("en"):
        text = [str(e) for e in report.errors]
    assert any("line 2: fees[1].amount_vnd:" in t and "negative" in t for t in text)


def test_xlsx_errors_give_the_spreadsheet_row(agency):
    data = tablib.Dataset(headers=["code", "name", "time_limit_days", "stages"])
    data.append(["1.000001", "Thủ tục một", 5, ""])
    data.append(["1.000002", "Thủ tục hai", "năm", ""])
    data.append(["1.000003", "Thủ tục ba", 5, "[{not json"])
    report = catalogue_import(content=data.export("xlsx"), filename="c.xlsx")
    assert {(e.line, e.field) for e in report.errors} == {(3, "time_limit_days"), (4, "stages")}
    assert not Procedure.objects.exists()


def test_unreadable_files_are_refused(db):
    assert not catalogue_import(content=b"\xff\x00", filename="c.json").ok
    assert not catalogue_import(content=b"not a zip", filename="c.xlsx").ok
    assert not catalogue_import(content=b'{"a": 1}', filename="c.json").ok
    assert not catalogue_import(content=b"[]", filename="c.csv").ok
    data = tablib.Dataset(headers=["name"])
    data.append(["x"])
    report = catalogue_import(content=data.export("xlsx"), filename="c.xlsx")
    assert "code" in str(report.errors[0])


def test_admin_import_and_export_pages(client, configured):
    user = totp_enrol(get_user_model().objects.create_superuser("root", "root@example.vn", "admin-password-2026"))
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("admin:procedures_procedure_export") + "?format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxml")
    exported = client.get(reverse("admin:procedures_procedure_export") + "?format=json").content
    rows = json.loads(exported)
    rows[0]["name"] = "Tên mới"
    rows.append({"code": "1.000009", "name": "Thủ tục", "fees": [{"name": "Phí", "amount_vnd": -3}]})
    upload = SimpleUploadedFile("c.json", json.dumps(rows).encode(), content_type="application/json")
    page = client.post(reverse("admin:procedures_procedure_import"), {"file": upload}).content.decode()
    assert "line 2" in page
    configured.refresh_from_db()
    assert configured.name != "Tên mới"
    rows.pop()
    upload = SimpleUploadedFile("c.json", json.dumps(rows).encode(), content_type="application/json")
    response = client.post(reverse("admin:procedures_procedure_import"), {"file": upload})
    assert response.status_code == 302
    configured.refresh_from_db()
    assert configured.name == "Tên mới"
    assert configured.current_version.number == 2
