"""After submitting: timeline and countdown, supplement, withdrawal, rating, feedback, public look-up,
and who read the applicant's personal data."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from citizens.apply import public_lookup_secret
from citizens.followup import feedback_answer
from citizens.models import DossierLookupSecret, Feedback
from portal.crypto import pii_hash
from portal.errors import ApplicationError
from procedures.lifecycle import dossier_transition
from procedures.models import Dossier, DossierDocument
from procedures.models_national import DossierRating
from tests.conftest import pdf_upload

pytestmark = pytest.mark.django_db
S = Dossier.State


@pytest.fixture
def client(client):
    client.cookies["portal_language"] = "en"
    return client


def act(dossier, action, actor, **kw):
    return dossier_transition(dossier_id=dossier.pk, action=action, actor=actor, **kw)


def test_my_dossiers_shows_status_countdown_and_what_is_expected(client, received_dossier, citizen_nhung):
    client.force_login(citizen_nhung)
    page = client.get(reverse("citizens:my-dossiers")).content.decode()
    assert received_dossier.reference in page
    assert "Nothing for now: the agency is handling your dossier." in page
    detail = client.get(reverse("citizens:dossier", args=[received_dossier.reference])).content.decode()
    assert 'id="days-left"' in detail and 'id="timeline"' in detail
    days = re.search(r'id="days-left">([^<]+)<', detail).group(1)
    assert 140 <= float(days) <= 150  # 150 working days from today, minus at most today's part


def test_answering_a_supplement_request_then_the_new_due_date_is_shown(
    client, received_dossier, citizen_nhung, clerk_lan
):
    act(received_dossier, "request_supplement", clerk_lan, items=["Bản sao văn bằng"], reason="Thiếu văn bằng")
    client.force_login(citizen_nhung)
    page = client.get(reverse("citizens:dossier", args=[received_dossier.reference])).content.decode()
    assert "Bản sao văn bằng" in page and "Add the documents or corrections asked for below." in page
    response = client.post(
        reverse("citizens:dossier-supplement", args=[received_dossier.reference]),
        {"files": [pdf_upload("van-bang.pdf")], "note": "Đã bổ sung"},
    )
    assert response.status_code == 302
    dossier = Dossier.objects.get()
    assert dossier.state == S.SUPPLEMENTED
    added = DossierDocument.objects.get(dossier=dossier, source=DossierDocument.Source.SUPPLEMENT)
    event = dossier.events.get(kind="supplemented")
    assert event.data["documents"] == [added.pk]
    act(dossier, "accept_supplement", clerk_lan)
    dossier.refresh_from_db()
    page = client.get(reverse("citizens:dossier", args=[dossier.reference])).content.decode()
    assert dossier.due_at.strftime("%d/%m/%Y") in re.search(r'id="dossier-due">([^<]+)<', page).group(1)
    assert 'class="new-due"' in page


def test_a_supplement_with_a_bad_file_is_refused_with_its_name(client, received_dossier, citizen_nhung, clerk_lan):
    act(received_dossier, "request_supplement", clerk_lan, items=["Văn bằng"], reason="Thiếu")
    client.force_login(citizen_nhung)
    fake = pdf_upload("gia.pdf", b"not a pdf")
    response = client.post(
        reverse("citizens:dossier-supplement", args=[received_dossier.reference]), {"files": [fake]}, follow=True
    )
    assert "gia.pdf" in response.content.decode()
    assert Dossier.objects.get().state == S.SUPPLEMENT_REQUESTED


def test_withdraw_before_receipt(client, submitted_dossier, citizen_nhung):
    client.force_login(citizen_nhung)
    url = reverse("citizens:dossier-withdraw", args=[submitted_dossier.reference])
    assert client.post(url, {"reason": "Nộp nhầm"}).status_code == 400  # the confirmation box is required
    assert client.post(url, {"reason": "Nộp nhầm", "confirm": "on"}).status_code == 302
    dossier = Dossier.objects.get()
    assert dossier.state == S.WITHDRAWN and dossier.national_status == 7


def test_withdraw_after_receipt_stops_processing(client, received_dossier, citizen_nhung):
    client.force_login(citizen_nhung)
    client.post(reverse("citizens:dossier-withdraw", args=[received_dossier.reference]), {"confirm": "on"})
    assert Dossier.objects.get().state == S.STOPPED


def test_rate_only_after_return_once_per_dossier(
    client, received_dossier, citizen_nhung, clerk_lan, leader_hai, officer_minh, signer_tuan, records_thu
):
    client.force_login(citizen_nhung)
    url = reverse("citizens:dossier-rate", args=[received_dossier.reference])
    client.post(url, {"score": "3"})
    assert not DossierRating.objects.exists()
    d = act(received_dossier, "assign", leader_hai, officer=officer_minh.pk)
    d = act(d, "forward_for_approval", officer_minh)
    d = act(d, "approve", leader_hai)
    d = act(d, "sign", signer_tuan)
    d = act(d, "issue", records_thu)
    d = act(d, "return_result", clerk_lan, method="counter")
    client.post(url, {"score": "3", "comment": "Nhanh"})
    client.post(url, {"score": "2"})
    rating = DossierRating.objects.get()
    assert rating.source == DossierRating.Source.PORTAL and rating.score == 2 and rating.rated_by == citizen_nhung


def test_feedback_about_a_dossier_gets_a_due_date_and_the_staff_answer(
    client, received_dossier, citizen_nhung, clerk_lan, clerk_other_agency
):
    client.force_login(citizen_nhung)
    response = client.post(
        reverse("citizens:feedback"),
        {"kind": "feedback", "about": f"d:{received_dossier.reference}", "subject": "Chậm", "body": "Chờ lâu"},
    )
    assert response.status_code == 302
    feedback = Feedback.objects.get()
    assert feedback.dossier == received_dossier and feedback.agency == received_dossier.agency
    assert feedback.due_at > feedback.created_at
    with translation.override("en"), pytest.raises(ApplicationError, match="not found"):  # another agency's staff
        feedback_answer(feedback_id=feedback.pk, staff=clerk_other_agency, answer="...")
    feedback_answer(feedback_id=feedback.pk, staff=clerk_lan, answer="Đã xử lý")
    page = client.get(reverse("citizens:feedback-detail", args=[feedback.pk])).content.decode()
    assert "Đã xử lý" in page and "Answered" in page


def test_feedback_about_someone_elses_dossier_is_404(client, received_dossier, citizen_outsider, procedure):
    client.force_login(citizen_outsider)
    response = client.post(
        reverse("citizens:feedback"),
        {"kind": "feedback", "about": f"d:{received_dossier.reference}", "subject": "X", "body": "Y"},
    )
    # The choice is not offered to this user: the form refuses it, and nothing is recorded.
    assert response.status_code in (400, 404)
    assert received_dossier.reference not in response.content.decode()
    assert not Feedback.objects.exists()
    ok = client.post(
        reverse("citizens:feedback"),
        {"kind": "recommendation", "about": f"p:{procedure.pk}", "subject": "Gợi ý", "body": "Thêm hướng dẫn"},
    )
    assert ok.status_code == 302 and Feedback.objects.get().procedure == procedure


def test_public_lookup_by_code_and_secret_shows_status_only(client, received_dossier):
    secret = public_lookup_secret(dossier=received_dossier)  # what the receipt prints; stores its hash
    assert DossierLookupSecret.objects.get(dossier=received_dossier).secret_hash != secret
    url = reverse("citizens:lookup")
    wrong = client.post(url, {"code": received_dossier.code, "secret": "WRONGSECRET"})
    assert wrong.status_code == 404 and received_dossier.applicant_name not in wrong.content.decode()
    ok = client.post(url, {"code": received_dossier.code, "secret": secret.lower()})
    body = ok.content.decode()
    assert ok.status_code == 200 and 'id="lookup-status"' in body
    assert received_dossier.applicant_name not in body and "0912345678" not in body


def test_who_read_my_data_lists_the_gateway_and_the_clerk(
    client, population_citizen, procedure, clerk_lan, django_capture_on_commit_callbacks
):
    from procedures.services import ApplicantData, dossier_submit
    from procedures.uploads import check_upload

    client.force_login(population_citizen)
    client.post(reverse("citizens:identity"), {"action": "consent"})
    record = population_citizen.population_record
    dossier = dossier_submit(
        procedure=procedure,
        applicant_user=population_citizen,
        applicant=ApplicantData(
            name=record.full_name,
            national_id=record.personal_id,
            address="Số 1 Huế, Hà Nội",
            phone="0912345678",
            email="",
        ),
        request_summary="Đề nghị",
        upload=check_upload(pdf_upload()),
        document_title="Đơn",
    )
    staff = client.__class__()
    staff.force_login(clerk_lan)
    assert staff.get(reverse("workspace:queue", args=["to_receive"])).status_code == 200
    page = client.get(reverse("citizens:data-access")).content.decode()
    assert "Population database: lookup" in page
    assert "Trần Thị Lan" in page  # the clerk's queue page showed the dossier
    assert dossier.pk and pii_hash(record.personal_id) not in page
