from __future__ import annotations

import datetime as dt
import re
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from integrations.models import OutboxMessage
from portal.audit import audit_chain_verify
from portal.errors import ApplicationError
from portal.models import AuditRecord
from procedures.models import Dossier, DossierEvent
from procedures.services import DOSSIER_CODE_RE, dossier_receive

VN = ZoneInfo("Asia/Ho_Chi_Minh")

pytestmark = pytest.mark.django_db


def test_submission_gets_a_reference_at_once_and_stores_the_id_number_encrypted(submitted_dossier):
    assert re.fullmatch(r"TN\d{6}-[A-Z2-9]{6}", submitted_dossier.reference)
    assert submitted_dossier.state == Dossier.State.SUBMITTED
    assert submitted_dossier.code is None
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT applicant_national_id, applicant_address FROM procedures_dossier WHERE id = %s",
            [submitted_dossier.pk],
        )
        stored_id, stored_address = cursor.fetchone()
    assert "001195012345" not in stored_id
    assert "Phố Huế" not in stored_address
    assert Dossier.objects.get(pk=submitted_dossier.pk).applicant_national_id == "001195012345"
    assert submitted_dossier.events.get().kind == DossierEvent.Kind.SUBMITTED
    assert AuditRecord.objects.filter(action="dossier.submit", object_id=str(submitted_dossier.pk)).count() == 1


def test_receiving_issues_the_official_code_due_date_event_audit_and_outbox_in_one_go(
    submitted_dossier, clerk_lan, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        dossier = dossier_receive(dossier_id=submitted_dossier.pk, actor=clerk_lan)
    assert dossier.state == Dossier.State.RECEIVED
    today = timezone.localdate().strftime("%y%m%d")
    assert dossier.code == f"G18.001.02-{today}-180001"
    assert DOSSIER_CODE_RE.match(dossier.code)
    assert dossier.due_at > dossier.received_at
    assert dossier.rule_version
    event = dossier.events.get(kind=DossierEvent.Kind.RECEIVED)
    assert (event.from_state, event.to_state, event.actor) == ("submitted", "received", clerk_lan)
    assert AuditRecord.objects.filter(action="dossier.receive", object_id=str(dossier.pk)).exists()
    message = OutboxMessage.objects.get(key=dossier.code)
    assert message.payload["status"] == 2
    assert message.payload["dossier_code"] == dossier.code
    assert message.sequence == 1
    # The delivery kick, the receipt rendering and the workspace's tab-count refresh, all after commit.
    assert len(callbacks) == 3
    assert audit_chain_verify().ok


def test_codes_count_per_agency_and_day(procedure, citizen_nhung, clerk_lan, submitted_dossier):
    from procedures.services import ApplicantData, dossier_submit
    from procedures.uploads import check_upload
    from tests.conftest import pdf_upload

    second = dossier_submit(
        procedure=procedure,
        applicant_user=citizen_nhung,
        applicant=ApplicantData(name="A", national_id="001195012345", address="Hà Nội", phone="0912345678", email=""),
        request_summary="x",
        upload=check_upload(pdf_upload()),
        document_title="Đơn",
    )
    with mock.patch("procedures.tasks.dossier_render_receipt_task.delay"):
        first_code = dossier_receive(dossier_id=submitted_dossier.pk, actor=clerk_lan).code
        second_code = dossier_receive(dossier_id=second.pk, actor=clerk_lan).code
    assert first_code.endswith("180001")
    assert second_code.endswith("180002")


def test_a_dossier_cannot_be_received_twice(received_dossier, clerk_lan):
    with pytest.raises(ApplicationError, match=r"(?i)không thực hiện được|is not possible now"):
        dossier_receive(dossier_id=received_dossier.pk, actor=clerk_lan)
    assert OutboxMessage.objects.filter(key=received_dossier.code).count() == 1


def test_a_clerk_of_another_agency_cannot_receive_and_learns_nothing(submitted_dossier, clerk_other_agency):
    with pytest.raises(ApplicationError) as err:
        dossier_receive(dossier_id=submitted_dossier.pk, actor=clerk_other_agency)
    assert err.value.status == 404
    submitted_dossier.refresh_from_db()
    assert submitted_dossier.state == Dossier.State.SUBMITTED


def test_a_processing_officer_cannot_receive(submitted_dossier, officer_minh):
    with pytest.raises(ApplicationError) as err:
        dossier_receive(dossier_id=submitted_dossier.pk, actor=officer_minh)
    assert err.value.status == 403


def test_a_citizen_cannot_receive(submitted_dossier, citizen_nhung):
    with pytest.raises(ApplicationError) as err:
        dossier_receive(dossier_id=submitted_dossier.pk, actor=citizen_nhung)
    assert err.value.status == 403


def test_state_cannot_be_assigned_directly(submitted_dossier):
    with pytest.raises(AttributeError):
        submitted_dossier.state = Dossier.State.RECEIVED


def test_due_date_of_a_dossier_received_on_a_friday_afternoon_skips_the_weekend(request, clerk_lan, procedure):
    procedure.time_limit_days = 1  # set before submission: the dossier is pinned to this version
    procedure.save()
    submitted_dossier = request.getfixturevalue("submitted_dossier")
    friday = dt.datetime(2026, 11, 27, 10, 30, tzinfo=VN)
    with mock.patch("django.utils.timezone.now", return_value=friday):
        dossier = dossier_receive(dossier_id=submitted_dossier.pk, actor=clerk_lan)
    assert timezone.localtime(dossier.due_at) == dt.datetime(2026, 11, 30, 10, 30, tzinfo=VN)
    assert dossier.code.split("-")[1] == "261127"
