"""Every applicant route answers 404 for another person's objects, with nothing of them in the body;
files are served as attachments with nosniff."""

from __future__ import annotations

import pytest
from django.urls import reverse

from citizens.models import Draft, DraftDocument, Feedback, Payment
from procedures.models import Dossier
from tests.conftest import pdf_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def victim_objects(received_dossier, citizen_nhung, procedure):
    """Citizen Nhung's dossier, document, payment, draft, draft file and feedback."""
    draft = Draft.objects.create(user=citizen_nhung, procedure=procedure, token="a" * 32, data={"phone": "0912345678"})
    upload = pdf_upload("rieng-tu.pdf")
    draft_doc = DraftDocument(
        draft=draft,
        checklist_item=1,
        title="Đơn",
        original_name="rieng-tu.pdf",
        content_type="application/pdf",
        size=upload.size,
        sha256="0" * 64,
    )
    draft_doc.file.save("rieng-tu.pdf", upload, save=True)
    payment = Payment.objects.create(
        dossier=received_dossier,
        order_id="ORD-1",
        amount_vnd=150_000,
        timing="submission",
        status="paid",
        receipt_number="BL-1",
        created_by=citizen_nhung,
    )
    feedback = Feedback.objects.create(
        user=citizen_nhung,
        kind="feedback",
        dossier=received_dossier,
        agency=received_dossier.agency,
        subject="Riêng tư của Nhung",
        body="Nội dung",
        due_at=received_dossier.received_at,
    )
    return {
        "dossier": received_dossier,
        "document": received_dossier.documents.get(),
        "payment": payment,
        "draft": draft,
        "draft_doc": draft_doc,
        "feedback": feedback,
    }


def routes(o):
    ref, token = o["dossier"].reference, o["draft"].token
    return [
        ("get", reverse("citizens:dossier", args=[ref]), {}),
        ("get", reverse("procedures:dossier-detail", args=[ref]), {}),
        ("get", reverse("procedures:dossier-receipt", args=[ref]), {}),
        ("get", reverse("citizens:dossier-document", args=[ref, o["document"].pk]), {}),
        ("post", reverse("citizens:dossier-supplement", args=[ref]), {"note": "x"}),
        ("get", reverse("citizens:dossier-withdraw", args=[ref]), {}),
        ("post", reverse("citizens:dossier-withdraw", args=[ref]), {"confirm": "on"}),
        ("post", reverse("citizens:dossier-rate", args=[ref]), {"score": "3"}),
        ("post", reverse("citizens:payment-begin", args=[ref]), {}),
        ("get", reverse("citizens:payment-return", args=[ref]) + "?order_id=ORD-1", {}),
        ("get", reverse("citizens:payment-receipt", args=[ref, o["payment"].pk]), {}),
        *[
            ("get", reverse("citizens:draft-step", args=[token, s]), {})
            for s in ("applicant", "form", "documents", "review")
        ],
        (
            "post",
            reverse("citizens:draft-step", args=[token, "applicant"]),
            {"phone": "0912345678", "address": "x" * 9},
        ),
        ("post", reverse("citizens:draft-step", args=[token, "documents"]), {"item": "1", "files-1": pdf_upload()}),
        ("post", reverse("citizens:draft-submit", args=[token]), {}),
        ("post", reverse("citizens:draft-delete", args=[token]), {}),
        ("post", reverse("citizens:contact-code", args=[token]), {"channel": "phone"}),
        ("get", reverse("citizens:draft-document", args=[token, o["draft_doc"].pk]), {}),
        ("get", reverse("citizens:feedback-detail", args=[o["feedback"].pk]), {}),
    ]


SECRETS = ("Nguyễn Thị Hồng Nhung", "0912345678", "rieng-tu.pdf", "Riêng tư của Nhung", "001195012345")


@pytest.mark.parametrize("who", ["citizen_outsider", "organisation_minh_an", "clerk_other_agency"])
def test_every_route_answers_404_for_another_persons_objects(client, request, victim_objects, who):
    client.force_login(request.getfixturevalue(who))
    state_before = Dossier.objects.get().state
    for method, url, data in routes(victim_objects):
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, (method, url, response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        for secret in SECRETS:
            assert secret.encode() not in body, (url, secret)
    assert Dossier.objects.get().state == state_before
    assert Draft.objects.filter(token="a" * 32).exists()
    assert Payment.objects.count() == 1


def test_unknown_ids_and_references_are_404_too(client, citizen_nhung):
    client.force_login(citizen_nhung)
    for url in (
        reverse("citizens:dossier", args=["TN000000-AAAAAA"]),
        reverse("citizens:draft-step", args=["b" * 32, "review"]),
        reverse("citizens:feedback-detail", args=[999999]),
    ):
        assert client.get(url).status_code == 404


def test_own_files_are_served_as_attachments_with_nosniff(client, victim_objects, citizen_nhung):
    client.force_login(citizen_nhung)
    for url in (
        reverse("citizens:dossier-document", args=[victim_objects["dossier"].reference, victim_objects["document"].pk]),
        reverse("citizens:draft-document", args=[victim_objects["draft"].token, victim_objects["draft_doc"].pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Type"] == "application/pdf"


def test_anonymous_visitors_are_sent_to_sign_in(client, victim_objects):
    response = client.get(reverse("citizens:dossier", args=[victim_objects["dossier"].reference]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_payment_callback_is_the_only_csrf_exempt_post(client, victim_objects, citizen_nhung):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(citizen_nhung)
    url = reverse("citizens:dossier-withdraw", args=[victim_objects["dossier"].reference])
    assert strict.post(url, {"confirm": "on"}).status_code == 403
    assert strict.post(reverse("citizens:payment-callback"), b"{}", content_type="application/json").status_code == 400
