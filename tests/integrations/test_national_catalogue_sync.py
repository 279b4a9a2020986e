"""Catalogue sync from the national TTHC database (LayDanhSachTTHC / LayThuTuc) against the simulator over HTTP."""

from __future__ import annotations

import copy
import datetime as dt
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone, translation

from integrations.national_portal import get_national_portal
from integrations.national_portal.catalogue import MalformedProcedureError, parse_procedure
from integrations.national_portal.simulator.catalogue_data import PROCEDURES, initial_catalogue
from portal.errors import ApplicationError
from portal.models import AuditRecord
from procedures.catalogue import procedure_publish
from procedures.catalogue_sync import national_catalogue_sync
from procedures.models import Agency, Procedure, ProcedureStage, ProcedureVersion
from procedures.models_national import CatalogueSyncRun, NationalCatalogueLink
from tests.conftest import totp_enrol

pytestmark = pytest.mark.django_db

ALL = len(PROCEDURES)
FORM = {
    "version": 1,
    "fields": [{"name": "org", "type": "text", "label": {"vi": "Tên cơ sở", "en": "Facility"}, "required": True}],
}


@pytest.fixture(autouse=True)
def _language():
    with translation.override("en"):
        yield


@pytest.fixture
def ministry(db):
    return Agency.objects.create(code="000.00.00.G18", name="Bộ Y tế")


def sim_procedures(sim, **spec):
    sim._call("POST", "/_sim/procedures", spec)


def sync(**kwargs) -> CatalogueSyncRun:
    return national_catalogue_sync(trigger=CatalogueSyncRun.Trigger.COMMAND, **kwargs)


def item(run: CatalogueSyncRun, code: str) -> dict:
    return next(i for i in run.items if i["code"] == code)


def test_the_first_sync_imports_every_national_procedure_with_its_master_data(national_portal_simulator, ministry):
    run = sync()

    assert (run.status, run.listed, run.created, run.updated, run.unchanged, run.failed) == (
        "succeeded",
        ALL,
        ALL,
        0,
        0,
        0,
    )
    assert Procedure.objects.count() == ALL
    assert not Procedure.objects.filter(is_published=True).exists()  # administrators publish after configuring
    device = Procedure.objects.get(code="1.003006")
    assert device.name == "Công bố đủ điều kiện sản xuất TBYT"
    assert (device.level, device.sector, device.sector_code) == ("provincial", "Thiết bị y tế", "G18-TBYT")
    assert device.agency is None  # a provincial department: no single agency code
    assert (device.time_limit_days, device.time_limit_hours) == (0, None)  # "immediately"
    assert device.fees_known
    assert [(f.amount_vnd, f.kind) for f in device.fees.all()] == [(1500000, 1)]
    assert [d.name for d in device.documents.all()] == [
        "Văn bản công bố đủ điều kiện sản xuất (minh họa)",
        "Hồ sơ nhân sự (minh họa)",
    ]
    assert set(device.illustrative_parts) == {"sector", "documents"}  # labelled illustrative down to the catalogue
    assert "44/2025/TT-BYT" in device.legal_basis
    free = Procedure.objects.get(code="3.000449")
    assert free.fees_known and not free.fees.exists()  # free of charge, as the national record says
    central = Procedure.objects.get(code="1.003925")
    assert central.agency == ministry and central.level == "central"
    assert (central.time_limit_days, central.fees_known) == (None, False)  # unknown stays unknown
    assert NationalCatalogueLink.objects.count() == ALL
    # The simulator saw one list call and one detail call per procedure, over HTTP.
    services = [r["service"] for r in national_portal_simulator.requests() if r["service"] != "auth"]
    assert services.count("LayDanhSachTTHC") == 1 and services.count("LayThuTuc") == ALL
    assert AuditRecord.objects.filter(action="procedure.national_create").count() == ALL
    audit = AuditRecord.objects.get(action="catalogue.sync")
    assert audit.data["created"] == ALL and audit.data["status"] == "succeeded"


def test_a_second_sync_changes_nothing(national_portal_simulator, ministry):
    sync()
    versions = ProcedureVersion.objects.count()
    run = sync()
    assert (run.created, run.updated, run.unchanged, run.failed) == (0, 0, ALL, 0)
    assert ProcedureVersion.objects.count() == versions
    assert not AuditRecord.objects.filter(action="procedure.national_update").exists()


def test_an_update_keeps_local_settings_and_freezes_a_new_version(national_portal_simulator, ministry):
    sync()
    procedure = Procedure.objects.get(code="1.003006")
    procedure.agency = ministry
    procedure.form_schema = FORM
    procedure.name_en = "Declaring eligibility to manufacture medical devices"
    procedure.save()
    ProcedureStage.objects.create(procedure=procedure, order=1, name="Tiếp nhận", role="reception", budget=0)
    doc = procedure.documents.first()
    doc.accepted_types, doc.max_size_mb = "pdf,jpg", 20
    doc.save()
    first = procedure_publish(procedure=procedure)
    link = procedure.national_link
    link.local_overrides = ["agency"]  # the ministry decides it here, whatever the national record says
    link.save()
    record = copy.deepcopy(initial_catalogue()["1.003006"])
    record["TENTTHC"] = "Công bố đủ điều kiện sản xuất trang thiết bị y tế"
    record["CACHTHUCTHUCHIEN"][0]["THOIGIAN"][0]["PHILEPHI"][0]["SOTIEN"] = 1000000
    record["COQUANTHUCHIEN"] = [{"MADONVI": "G18.999", "TENDONVI": "Khác"}]
    sim_procedures(national_portal_simulator, upsert=[record])

    run = sync()

    line = item(run, "1.003006")
    assert line["outcome"] == "updated"
    assert set(line["changed"]) == {"name", "fees"}
    assert line["version"] == first.number + 1
    assert run.updated == 1 and run.unchanged == ALL - 1
    procedure.refresh_from_db()
    assert procedure.name == "Công bố đủ điều kiện sản xuất trang thiết bị y tế"
    assert [f.amount_vnd for f in procedure.fees.all()] == [1000000]
    # Local settings survive: form, stages, English name, publication, overridden agency, document settings.
    assert procedure.form_schema == FORM
    assert list(procedure.stages.values_list("name", flat=True)) == ["Tiếp nhận"]
    assert procedure.name_en.startswith("Declaring")
    assert procedure.is_published and procedure.agency == ministry
    doc.refresh_from_db()
    assert (doc.accepted_types, doc.max_size_mb) == ("pdf,jpg", 20)
    version = procedure.current_version
    assert version.number == first.number + 1
    assert version.snapshot["name"] == procedure.name and version.snapshot["form_schema"] == FORM
    assert first.snapshot["name"] == "Công bố đủ điều kiện sản xuất TBYT"  # the old version stays frozen
    audit = AuditRecord.objects.get(action="procedure.national_update")
    assert audit.data["kept_local"] == ["agency"]


def test_an_unknown_national_agency_is_reported_not_invented(national_portal_simulator):
    run = sync(codes=["1.003925"])
    line = item(run, "1.003925")
    assert line["outcome"] == "created"
    assert "000.00.00.G18" in line["warnings"][0] and "not in the agency register" in line["warnings"][0]
    assert Procedure.objects.get(code="1.003925").agency is None
    assert not Agency.objects.exists()


def test_a_malformed_record_fails_alone_with_its_reason(national_portal_simulator, ministry):
    sim_procedures(national_portal_simulator, raw={"1.003029": {"MATTHC": "1.003029", "TENTTHC": 5}})
    bad_fee = copy.deepcopy(initial_catalogue()["1.003039"])
    bad_fee["CACHTHUCTHUCHIEN"][0]["THOIGIAN"][0]["PHILEPHI"][0]["SOTIEN"] = -5
    sim_procedures(national_portal_simulator, upsert=[bad_fee])

    run = sync()

    assert run.status == "partial"
    assert (run.created, run.failed) == (ALL - 2, 2)
    assert "TENTTHC must be text" in item(run, "1.003029")["reason"]
    assert "PHILEPHI[0].SOTIEN" in item(run, "1.003039")["reason"]
    assert not Procedure.objects.filter(code__in=["1.003029", "1.003039"]).exists()


def test_a_code_the_national_database_does_not_know_fails_with_a_reason(national_portal_simulator):
    run = sync(codes=["9.999999"])
    assert run.status == "partial"
    assert item(run, "9.999999")["reason"] == "The national database has no procedure with this code."


def test_the_list_call_failing_fails_the_run_and_writes_nothing(national_portal_simulator, settings):
    settings.HTTP_RETRIES = 0
    national_portal_simulator.faults(fail_next=1, status=503, service="LayDanhSachTTHC")
    run = sync()
    assert run.status == "failed"
    assert "HTTP 503" in run.error
    assert not Procedure.objects.exists()
    assert AuditRecord.objects.get(action="catalogue.sync").data["status"] == "failed"


def test_a_detail_call_failing_fails_that_procedure_only(national_portal_simulator, settings):
    settings.HTTP_RETRIES = 0
    national_portal_simulator.faults(fail_next=1, status=200, error_code="99", service="LayThuTuc")
    run = sync(codes=["1.003006", "1.003029"])
    assert [i["outcome"] for i in run.items] == ["failed", "created"]
    assert "error_code '99'" in run.items[0]["reason"]


def test_two_runs_never_overlap_and_an_abandoned_one_is_closed(national_portal_simulator):
    running = CatalogueSyncRun.objects.create(trigger="schedule")
    with pytest.raises(ApplicationError, match="already running"):
        sync(codes=["1.003006"])
    CatalogueSyncRun.objects.filter(pk=running.pk).update(started_at=timezone.now() - dt.timedelta(hours=2))
    run = sync(codes=["1.003006"])
    assert run.status == "succeeded"
    running.refresh_from_db()
    assert running.status == "failed" and "did not finish" in running.error


def test_the_command_prints_the_report_and_fails_on_failures(national_portal_simulator, capsys):
    call_command("sync_national_catalogue", "--code", "1.003006", "--code", "1.003029")
    out = capsys.readouterr().out
    assert "1.003006: created" in out and "created 2" in out and "succeeded" in out
    with pytest.raises(CommandError, match="failed 1"):
        call_command("sync_national_catalogue", "--code", "9.999999")


def test_the_task_runs_a_scheduled_sync(national_portal_simulator):
    from procedures.tasks_national import national_catalogue_sync_task

    national_catalogue_sync_task.delay()  # eager in unit tests
    run = CatalogueSyncRun.objects.get()
    assert (run.trigger, run.status, run.created) == ("schedule", "succeeded", ALL)


@pytest.mark.parametrize(("enabled", "expected"), [("true", True), ("false", False)])
def test_the_beat_entry_follows_the_setting(enabled, expected):
    env = {**os.environ, "NATIONAL_CATALOGUE_SYNC_ENABLED": enabled, "DJANGO_SETTINGS_MODULE": "portal.settings.test"}
    code = "from django.conf import settings; print('national-catalogue-sync' in settings.CELERY_BEAT_SCHEDULE)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=settings.BASE_DIR
    )
    assert out.stdout.strip() == str(expected)


@pytest.fixture
def admin_client(client):
    user = totp_enrol(get_user_model().objects.create_superuser("root", "root@example.vn", "admin-password-2026"))
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_the_admin_button_syncs_and_shows_the_report(national_portal_simulator, admin_client, ministry):
    page = admin_client.get(reverse("admin:procedures_cataloguesyncrun_changelist"))
    assert b"Synchronise with the national procedure database now" in page.content
    assert admin_client.get(reverse("admin:procedures_cataloguesyncrun_run")).status_code == 405
    response = admin_client.post(reverse("admin:procedures_cataloguesyncrun_run"), follow=True)
    run = CatalogueSyncRun.objects.get()
    assert (run.trigger, run.actor.username, run.created) == ("admin", "root", ALL)
    assert f"{ALL} created".encode() in response.content
    assert AuditRecord.objects.filter(action="catalogue.sync", actor__username="root").exists()


def test_the_admin_action_syncs_the_selected_procedures(national_portal_simulator, admin_client, ministry):
    sync(codes=["1.003006", "1.003029"])
    record = copy.deepcopy(initial_catalogue()["1.003029"])
    record["TENTTHC"] = "Tên mới"
    sim_procedures(national_portal_simulator, upsert=[record])
    selected = Procedure.objects.get(code="1.003029")
    response = admin_client.post(
        reverse("admin:procedures_procedure_changelist"),
        {"action": "national_sync_selected", "_selected_action": [selected.pk]},
        follow=True,
    )
    assert b"1 updated" in response.content
    selected.refresh_from_db()
    assert selected.name == "Tên mới"
    assert CatalogueSyncRun.objects.latest("id").listed == 1


def test_the_client_parses_and_refuses_records():
    record = initial_catalogue()["1.003029"]
    parsed = parse_procedure(record, code="1.003029")
    assert [(f.name, f.amount_vnd) for f in parsed.fees] == [("TBYT loại A", 500000), ("TBYT loại B", 1500000)]
    hours = copy.deepcopy(record)
    hours["CACHTHUCTHUCHIEN"][0]["THOIGIAN"][0].update(THOIGIANGIAIQUYET="8", DONVITINH="Giờ làm việc")
    assert parse_procedure(hours, code="1.003029").time_limit_hours == 8
    calendar = copy.deepcopy(record)
    calendar["CACHTHUCTHUCHIEN"][0]["THOIGIAN"][0].update(THOIGIANGIAIQUYET="30", DONVITINH="Ngày")
    parsed = parse_procedure(calendar, code="1.003029")
    assert parsed.time_limit_days is None and parsed.time_limit_note.startswith("30 Ngày")
    with pytest.raises(MalformedProcedureError, match="does not match"):
        parse_procedure(record, code="1.003006")
    with pytest.raises(MalformedProcedureError, match="LINHVUCTHUCHIEN must be a list"):
        parse_procedure({**record, "LINHVUCTHUCHIEN": "Y tế"}, code="1.003029")


def test_the_configured_client_reaches_the_simulator(national_portal_simulator):
    portal = get_national_portal()
    codes = [code for code, _ in portal.list_procedures()]
    assert len(codes) == ALL and "1.013871" in codes
    assert portal.procedure_detail("1.013871").name == "Bổ nhiệm giám định viên pháp y và pháp y tâm thần"
    assert portal.procedure_detail("0.000000") is None
