"""Online payment through the adapter and the simulator over real HTTP: redirect, signed callback,
a callback received twice counts once, forged and replayed callbacks refused, failure and retry."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
import requests
from django.urls import reverse

from citizens.models import Payment
from procedures.models import Dossier, DossierEvent, ProcedureFee
from procedures.services import ApplicantData, dossier_submit
from procedures.uploads import check_upload
from tests.conftest import pdf_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    client.cookies["portal_language"] = "en"
    return client


@pytest.fixture
def fee_due_dossier(procedure, citizen_nhung):
    ProcedureFee.objects.create(
        procedure=procedure, name="Lệ phí (minh họa)", amount_vnd=150_000, timing=ProcedureFee.Timing.AT_RECEIPT
    )
    dossier = dossier_submit(
        procedure=procedure,
        applicant_user=citizen_nhung,
        applicant=ApplicantData(
            name="Nguyễn Thị Hồng Nhung",
            national_id="001195012345",
            address="Số 1 Phố Huế, Hà Nội",
            phone="0912345678",
            email="",
        ),
        request_summary="Đề nghị",
        upload=check_upload(pdf_upload()),
        document_title="Đơn",
    )
    assert dossier.state == Dossier.State.FEE_DUE and dossier.national_status == 6
    return dossier


def pay_at_simulator(client, dossier, action="pay") -> dict:
    """Press "Pay online", then the simulator's button; return the callback the simulator signed and sent."""
    response = client.post(reverse("citizens:payment-begin", args=[dossier.reference]))
    assert response.status_code == 302
    pay_url = response["Location"]
    page = requests.get(pay_url, timeout=10)
    assert page.status_code == 200 and "150.000 đồng" in page.text
    back = requests.post(pay_url, data={"action": action}, allow_redirects=False, timeout=10)
    assert back.status_code == 303
    assert back.headers["Location"].startswith("http://testserver/me/dossiers/")
    return back


def last_callback(payment_simulator) -> tuple[bytes, str]:
    sent = payment_simulator.callbacks()[-1]
    return sent["body"].encode(), sent["signature"]


def post_callback(client, body: bytes, signature: str):
    return client.post(
        reverse("citizens:payment-callback"), body, content_type="application/json", HTTP_X_SIGNATURE=signature
    )


def test_pay_online_callback_confirms_once_and_the_receipt_is_kept(
    client, fee_due_dossier, citizen_nhung, payment_simulator
):
    client.force_login(citizen_nhung)
    back = pay_at_simulator(client, fee_due_dossier)
    body, signature = last_callback(payment_simulator)
    # The simulator could not reach the test client's host: deliver its signed callback here, twice.
    first = post_callback(client, body, signature)
    second = post_callback(client, body, signature)
    assert first.status_code == second.status_code == 200
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.PAID and payment.callbacks == 2
    dossier = Dossier.objects.get()
    assert dossier.state == Dossier.State.SUBMITTED
    events = DossierEvent.objects.filter(dossier=dossier, kind="payment_confirmed")
    assert events.count() == 1
    assert events.get().actor is None and events.get().data["payment_reference"] == payment.provider_reference
    # The payer comes back to the dossier: paid, with the receipt.
    page = client.get(back.headers["Location"].removeprefix("http://testserver"), follow=True).content.decode()
    assert payment.receipt_number in page
    receipt = client.get(reverse("citizens:payment-receipt", args=[dossier.reference, payment.pk]))
    assert receipt.status_code == 200 and "150,000 VND" in receipt.content.decode()


def test_forged_and_replayed_callbacks_are_refused(client, fee_due_dossier, citizen_nhung, payment_simulator, settings):
    client.force_login(citizen_nhung)
    pay_at_simulator(client, fee_due_dossier)
    body, signature = last_callback(payment_simulator)
    data = json.loads(body)
    # Forged: the amount changed without the secret.
    forged = json.dumps({**data, "amount": 1}).encode()
    assert post_callback(client, forged, signature).status_code == 400
    assert post_callback(client, body, "0" * 64).status_code == 400
    # Replayed: an old callback (outside the window), even correctly signed.
    secret = settings.PAYMENT_CALLBACK_SECRET
    old = json.dumps({**data, "timestamp": int(time.time()) - settings.PAYMENT_CALLBACK_MAX_AGE_SECONDS - 5}).encode()
    assert post_callback(client, old, hmac.new(secret.encode(), old, hashlib.sha256).hexdigest()).status_code == 400
    assert Payment.objects.get().status == Payment.Status.PENDING
    # The genuine one is accepted; then its nonce reused with another body is a replay.
    assert post_callback(client, body, signature).status_code == 200
    other = json.dumps({**data, "event_id": "x"}).encode()
    assert post_callback(client, other, hmac.new(secret.encode(), other, hashlib.sha256).hexdigest()).status_code == 400
    assert Dossier.objects.get().state == Dossier.State.SUBMITTED


def test_a_declined_payment_can_be_retried(client, fee_due_dossier, citizen_nhung, payment_simulator):
    client.force_login(citizen_nhung)
    payment_simulator.faults(decline_next=1)
    pay_at_simulator(client, fee_due_dossier)
    post_callback(client, *last_callback(payment_simulator))
    failed = Payment.objects.get()
    assert failed.status == Payment.Status.FAILED and "declined" in failed.failure
    assert Dossier.objects.get().state == Dossier.State.FEE_DUE
    page = client.get(reverse("citizens:dossier", args=[fee_due_dossier.reference])).content.decode()
    assert 'id="pay-online"' in page
    pay_at_simulator(client, fee_due_dossier)
    post_callback(client, *last_callback(payment_simulator))
    assert Payment.objects.filter(status=Payment.Status.PAID).count() == 1
    assert Dossier.objects.get().state == Dossier.State.SUBMITTED


def test_payment_service_unavailable_gives_a_clear_message(client, fee_due_dossier, citizen_nhung, payment_simulator):
    client.force_login(citizen_nhung)
    payment_simulator.faults(unavailable_next=10)
    response = client.post(reverse("citizens:payment-begin", args=[fee_due_dossier.reference]), follow=True)
    assert "The payment service is unavailable" in response.content.decode()
    assert Dossier.objects.get().state == Dossier.State.FEE_DUE


def test_nobody_else_can_start_a_payment_for_a_dossier(client, fee_due_dossier, citizen_outsider, payment_simulator):
    client.force_login(citizen_outsider)
    response = client.post(reverse("citizens:payment-begin", args=[fee_due_dossier.reference]))
    assert response.status_code == 404
    assert not Payment.objects.exists()


def test_a_fee_at_supplement_is_paid_online_before_the_supplement_answer_and_only_once(
    client, received_dossier, citizen_nhung, clerk_lan, payment_simulator
):
    from procedures.lifecycle import dossier_transition

    ProcedureFee.objects.create(
        procedure=received_dossier.procedure,
        name="Phí bổ sung (minh họa)",
        amount_vnd=150_000,
        timing=ProcedureFee.Timing.AT_SUPPLEMENT,
    )
    dossier_transition(
        dossier_id=received_dossier.pk, action="request_supplement", actor=clerk_lan, items=["Bản sao giấy phép"]
    )
    client.force_login(citizen_nhung)
    url = reverse("citizens:dossier", args=[received_dossier.reference])
    page = client.get(url).content.decode()
    assert 'id="fee-due"' in page and "150,000 VND" in page
    # The answer waits for the fee: nothing is stored, the state does not move.
    refused = client.post(
        reverse("citizens:dossier-supplement", args=[received_dossier.reference]),
        {"note": "Gửi bổ sung", "files": [pdf_upload("giay-phep.pdf")]},
        follow=True,
    )
    assert "Pay the fee due at supplement first" in refused.content.decode()
    received_dossier.refresh_from_db()
    assert received_dossier.state == Dossier.State.SUPPLEMENT_REQUESTED
    assert not received_dossier.documents.filter(source="supplement").exists()

    pay_at_simulator(client, received_dossier)
    assert post_callback(client, *last_callback(payment_simulator)).status_code == 200
    payment = Payment.objects.get(dossier=received_dossier)
    assert payment.status == Payment.Status.PAID and payment.timing == "supplement"
    received_dossier.refresh_from_db()
    assert received_dossier.state == Dossier.State.SUPPLEMENT_REQUESTED  # paying is not answering
    assert 'id="fee-due"' not in client.get(url).content.decode()

    sent = client.post(
        reverse("citizens:dossier-supplement", args=[received_dossier.reference]),
        {"note": "Gửi bổ sung", "files": [pdf_upload("giay-phep.pdf")]},
    )
    assert sent.status_code == 302
    received_dossier.refresh_from_db()
    assert received_dossier.state == Dossier.State.SUPPLEMENTED
    # A second supplement request does not charge the fee again.
    dossier_transition(dossier_id=received_dossier.pk, action="accept_supplement", actor=clerk_lan)
    dossier_transition(
        dossier_id=received_dossier.pk, action="request_supplement", actor=clerk_lan, items=["Bản chụp rõ hơn"]
    )
    assert 'id="fee-due"' not in client.get(url).content.decode()
