"""Data-subject rights (Law 91/2025/QH15, domain.md §9), retention with the archiving job, breach register."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation

from portal.audit import audit_record
from portal.models import AuditRecord
from privacy.models import BreachRecord, PrivacyRequest, RetentionAction, RetentionPolicy
from privacy.retention import retention_sweep
from privacy.services import privacy_request_answer
from procedures.models import Dossier, DossierDocument

pytestmark = pytest.mark.django_db


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


# --- requests and their deadline ------------------------------------------------------------------------


def test_a_citizen_files_a_correction_request_due_by_the_configured_deadline(citizen_client, citizen_nhung):
    response = citizen_client.post(
        "/privacy/requests/new/", {"kind": "correction", "details": "Ngày sinh của tôi là 12/03/1995, không phải 1996."}
    )
    assert response.status_code == 302
    row = PrivacyRequest.objects.get(subject=citizen_nhung)
    assert response["Location"] == f"/privacy/requests/{row.reference}/"
    assert row.kind == PrivacyRequest.Kind.CORRECTION
    assert row.status == PrivacyRequest.Status.OPEN
    assert row.due_at - row.received_at == timedelta(hours=settings.PRIVACY_REQUEST_DEADLINE_HOURS)
    assert row.deadline_hours == settings.PRIVACY_REQUEST_DEADLINE_HOURS
    assert AuditRecord.objects.filter(action="privacy.request_filed", object_id=str(row.pk)).count() == 1
    page = citizen_client.get(response["Location"]).content.decode()
    assert "12/03/1995" in page


def test_the_request_details_are_encrypted_at_rest(citizen_client, citizen_nhung):
    from django.db import connection

    citizen_client.post("/privacy/requests/new/", {"kind": "deletion", "details": "Xoá số 0912345678 của tôi"})
    row = PrivacyRequest.objects.get(subject=citizen_nhung)
    with connection.cursor() as cursor:
        cursor.execute("SELECT details FROM privacy_privacyrequest WHERE id = %s", [row.pk])
        stored = cursor.fetchone()[0]
    assert "0912345678" not in stored
    assert row.details == "Xoá số 0912345678 của tôi"


def test_an_empty_or_unknown_request_is_refused_with_a_translated_error(citizen_client):
    english(citizen_client)
    response = citizen_client.post("/privacy/requests/new/", {"kind": "access", "details": ""})
    assert response.status_code == 400
    page = response.content.decode()
    with translation.override("en"):
        assert "This field is required." in page
        assert "Select a valid choice." in page
    assert not PrivacyRequest.objects.exists()


def test_nobody_else_sees_a_request_and_staff_pages_are_not_theirs(
    citizen_client, citizen_nhung, citizen_outsider, clerk_lan
):
    from django.test import Client

    citizen_client.post("/privacy/requests/new/", {"kind": "objection", "details": "Tôi phản đối"})
    row = PrivacyRequest.objects.get()
    other = Client()
    other.force_login(citizen_outsider)
    assert other.get(f"/privacy/requests/{row.reference}/").status_code == 404
    staff = Client()
    staff.force_login(clerk_lan)
    assert staff.get("/privacy/").status_code == 404
    anonymous = Client().get("/privacy/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")


def test_staff_answer_and_the_answer_is_audited_and_late_answers_show(citizen_nhung, clerk_lan):
    row = PrivacyRequest.objects.create(
        subject=citizen_nhung, kind=PrivacyRequest.Kind.CORRECTION, details="x", received_at=timezone.now()
    )
    PrivacyRequest.objects.filter(pk=row.pk).update(due_at=timezone.now() - timedelta(hours=1))

    answered = privacy_request_answer(
        request_id=row.pk, actor=clerk_lan, status=PrivacyRequest.Status.ANSWERED, answer="Đã sửa ngày sinh."
    )
    assert answered.answered_by == clerk_lan and answered.is_overdue
    record = AuditRecord.objects.get(action="privacy.request_answered", object_id=str(row.pk))
    assert record.data["overdue"] is True
    from portal.errors import ApplicationError

    with pytest.raises(ApplicationError):
        privacy_request_answer(request_id=row.pk, actor=clerk_lan, status="answered", answer="again")


def test_staff_answer_requests_in_the_admin(citizen_nhung, admin_client):
    row = PrivacyRequest.objects.create(subject=citizen_nhung, kind=PrivacyRequest.Kind.DELETION, details="xoá")
    url = f"/admin/privacy/privacyrequest/{row.pk}/change/"
    assert admin_client.get(url).status_code == 200
    assert AuditRecord.objects.filter(action="personal_data.read", object_id=str(row.pk)).exists()

    refused = admin_client.post(url, {"status": "answered", "answer": ""})
    assert refused.status_code == 200  # the form again: an answer is required
    done = admin_client.post(url, {"status": "answered", "answer": "Đã xoá dữ liệu không còn cần thiết."})
    assert done.status_code == 302
    row.refresh_from_db()
    assert row.status == "answered" and row.answered_at is not None
    assert admin_client.post(url, {"status": "open", "answer": "x"}).status_code == 403  # closed: read-only


# --- consent withdrawal ----------------------------------------------------------------------------------


def test_withdrawing_a_consent_takes_effect_at_once_and_is_recorded(citizen_client, citizen_nhung):
    from citizens.applicant import consent_give
    from citizens.models import Consent

    consent = consent_give(user=citizen_nhung, ip="127.0.0.1", language="vi")

    response = citizen_client.post(f"/privacy/consents/{consent.reference}/withdraw/")

    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    row = PrivacyRequest.objects.get(subject=citizen_nhung, kind=PrivacyRequest.Kind.CONSENT_WITHDRAWAL)
    assert row.status == PrivacyRequest.Status.ANSWERED and row.consent == consent
    assert AuditRecord.objects.filter(action="privacy.consent_withdrawn").count() == 1
    again = citizen_client.post(f"/privacy/consents/{consent.reference}/withdraw/")
    assert again.status_code == 302
    assert PrivacyRequest.objects.filter(kind=PrivacyRequest.Kind.CONSENT_WITHDRAWAL).count() == 1
    assert Consent.objects.get(pk=consent.pk).withdrawn_at == consent.withdrawn_at


def test_a_consent_of_someone_else_cannot_be_withdrawn(citizen_client, citizen_outsider):
    from citizens.applicant import consent_give

    consent = consent_give(user=citizen_outsider, ip=None, language="vi")
    assert citizen_client.post(f"/privacy/consents/{consent.reference}/withdraw/").status_code == 404
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_withdrawal_and_export_need_post_with_csrf(citizen_nhung):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(citizen_nhung)
    assert client.get("/privacy/export/").status_code == 405
    assert client.post("/privacy/export/").status_code == 403
    assert not PrivacyRequest.objects.exists()


# --- export ------------------------------------------------------------------------------------------------


def test_the_export_holds_profile_dossiers_documents_and_who_read_them(
    citizen_client, citizen_nhung, received_dossier, clerk_lan, citizen_outsider
):
    with transaction.atomic():
        audit_record(action="personal_data.read", actor=clerk_lan, obj=received_dossier, reason="queue")

    response = citizen_client.post("/privacy/export/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment;")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("data.json"))
    assert data["citizen_profile"]["personal_identification_number"] == "001195012345"
    assert data["citizen_profile"]["full_name"] == "Nguyễn Thị Hồng Nhung"
    (dossier,) = data["dossiers"]
    assert dossier["reference"] == received_dossier.reference
    assert [d["sha256"] for d in dossier["documents"]] == list(
        DossierDocument.objects.filter(dossier=received_dossier).values_list("sha256", flat=True)
    )
    reads = [r for r in data["audit"] if r["action"] == "personal_data.read"]
    assert reads and reads[0]["by"] == clerk_lan.get_username()
    assert {r["action"] for r in data["audit"]} >= {"dossier.receive"}
    # Nothing of another person.
    assert citizen_outsider.get_username() not in archive.read("data.json").decode()
    row = PrivacyRequest.objects.get(subject=citizen_nhung, kind=PrivacyRequest.Kind.ACCESS)
    assert row.status == PrivacyRequest.Status.ANSWERED
    assert AuditRecord.objects.filter(action="privacy.export", actor=citizen_nhung).count() == 1


# --- retention ---------------------------------------------------------------------------------------------


def finish(dossier: Dossier, *, days_ago: int) -> None:
    Dossier.objects.filter(pk=dossier.pk).update(
        state=Dossier.State.RETURNED, finished_at=timezone.now() - timedelta(days=days_ago)
    )


@pytest.fixture
def archive_root(tmp_path, settings):
    settings.PRIVACY_ARCHIVE_ROOT = tmp_path / "archive"
    return settings.PRIVACY_ARCHIVE_ROOT


def sweep(capture) -> int:
    """Run the job; the originals are removed after its transactions commit."""
    with capture(execute=True):
        return retention_sweep()


def test_the_retention_job_archives_files_past_retention_and_leaves_open_dossiers_alone(
    procedure, citizen_nhung, submitted_dossier, archive_root, django_capture_on_commit_callbacks
):
    from tests.conftest import pdf_upload

    open_dossier = submitted_dossier  # still open, and submitted long ago
    Dossier.objects.filter(pk=open_dossier.pk).update(submitted_at=timezone.now() - timedelta(days=2000))
    old = _another_dossier(procedure, citizen_nhung, pdf_upload)
    recent = _another_dossier(procedure, citizen_nhung, pdf_upload)
    finish(old, days_ago=400)
    finish(recent, days_ago=100)
    RetentionPolicy.objects.create(
        document_class=RetentionPolicy.DocumentClass.DOSSIER_DOCUMENT,
        retention_months=12,
        action=RetentionPolicy.Action.ARCHIVE,
        legal_basis="illustrative: 12 months",
    )
    old_doc = DossierDocument.objects.get(dossier=old)
    old_path = Path(old_doc.file.path)
    content = old_path.read_bytes()

    assert sweep(django_capture_on_commit_callbacks) == 1

    assert not old_path.exists()
    action = RetentionAction.objects.get()
    assert (action.object_id, action.action) == (str(old_doc.pk), "archive")
    assert Path(action.archived_to).read_bytes() == content
    assert Path(action.archived_to).is_relative_to(archive_root)
    assert Path(DossierDocument.objects.get(dossier=open_dossier).file.path).exists()
    assert Path(DossierDocument.objects.get(dossier=recent).file.path).exists()
    record = AuditRecord.objects.get(action="privacy.retention_archive")
    assert record.data["object_id"] == str(old_doc.pk) and record.data["sha256"] == action.sha256
    # Idempotent: a second run finds nothing new.
    assert sweep(django_capture_on_commit_callbacks) == 0
    assert RetentionAction.objects.count() == 1


def test_the_retention_job_deletes_when_the_policy_says_so_and_skips_inactive_policies(
    procedure, citizen_nhung, archive_root, django_capture_on_commit_callbacks
):
    from tests.conftest import pdf_upload

    old = _another_dossier(procedure, citizen_nhung, pdf_upload)
    finish(old, days_ago=800)
    policy = RetentionPolicy.objects.create(
        document_class=RetentionPolicy.DocumentClass.DOSSIER_DOCUMENT,
        retention_months=24,
        action=RetentionPolicy.Action.DELETE,
        legal_basis="illustrative",
        active=False,
    )
    path = Path(DossierDocument.objects.get(dossier=old).file.path)
    assert sweep(django_capture_on_commit_callbacks) == 0 and path.exists()

    policy.active = True
    policy.save()
    assert sweep(django_capture_on_commit_callbacks) == 1
    assert not path.exists()
    assert not archive_root.exists() or not any(archive_root.rglob("*.pdf"))
    assert AuditRecord.objects.filter(action="privacy.retention_delete").count() == 1


def test_a_failing_audit_keeps_the_file(
    procedure, citizen_nhung, archive_root, monkeypatch, django_capture_on_commit_callbacks
):
    from tests.conftest import pdf_upload

    old = _another_dossier(procedure, citizen_nhung, pdf_upload)
    finish(old, days_ago=800)
    RetentionPolicy.objects.create(
        document_class="dossier_document", retention_months=1, action="archive", legal_basis="illustrative"
    )
    path = Path(DossierDocument.objects.get(dossier=old).file.path)

    def audit_down(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("privacy.retention.audit_record", audit_down)
    with pytest.raises(RuntimeError):
        sweep(django_capture_on_commit_callbacks)
    assert path.exists()
    assert not RetentionAction.objects.exists()
    assert [p for p in archive_root.rglob("*") if p.is_file()] == []  # the archive copy was removed again


def test_the_retention_task_is_scheduled():
    schedule = settings.CELERY_BEAT_SCHEDULE["privacy-retention"]
    assert schedule["task"] == "privacy.tasks.retention_sweep_task"
    from privacy.tasks import retention_sweep_task

    assert retention_sweep_task.run() == 0


def _another_dossier(procedure, user, pdf_upload):
    from procedures.services import ApplicantData, dossier_submit
    from procedures.uploads import check_upload

    return dossier_submit(
        procedure=procedure,
        applicant_user=user,
        applicant=ApplicantData(
            name="Nguyễn Thị Hồng Nhung",
            national_id="001195012345",
            address="Số 1 Phố Huế, Hà Nội",
            phone="0912345678",
            email="nhung@example.vn",
        ),
        request_summary="Đề nghị",
        upload=check_upload(pdf_upload()),
        document_title="Đơn đề nghị",
    )


# --- breach register ---------------------------------------------------------------------------------------


def test_a_breach_is_due_for_notification_within_the_configured_hours_and_late_needs_a_reason(clerk_lan):
    detected = timezone.now() - timedelta(hours=100)
    breach = BreachRecord(
        detected_at=detected,
        description="Lộ danh sách hồ sơ",
        data_categories="họ tên, số định danh",
        subjects_affected=12,
        authority_notified_at=detected + timedelta(hours=settings.PRIVACY_BREACH_NOTIFY_HOURS + 1),
    )
    with pytest.raises(ValidationError) as refused:
        breach.full_clean()
    assert "late_reason" in refused.value.message_dict
    breach.late_reason = "Chưa xác định được phạm vi"
    breach.full_clean()
    breach.save()
    assert breach.notify_due_at == detected + timedelta(hours=settings.PRIVACY_BREACH_NOTIFY_HOURS)
    assert breach.notified_late
    assert breach.reference.startswith("VP-")


def test_the_breach_register_is_kept_in_the_admin_and_audited(admin_client):
    user = get_user_model().objects.get(username="admin")
    now = timezone.localtime()
    response = admin_client.post(
        "/admin/privacy/breachrecord/add/",
        {
            "detected_at_0": now.strftime("%Y-%m-%d"),
            "detected_at_1": now.strftime("%H:%M:%S"),
            "description": "Email gửi nhầm người nhận",
            "data_categories": "họ tên",
            "subjects_affected": "1",
            "status": "open",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    breach = BreachRecord.objects.get()
    assert breach.recorded_by == user
    assert AuditRecord.objects.filter(action="privacy.breachrecord.added", object_id=str(breach.pk)).count() == 1
    assert admin_client.post(f"/admin/privacy/breachrecord/{breach.pk}/delete/", {"post": "yes"}).status_code == 403
