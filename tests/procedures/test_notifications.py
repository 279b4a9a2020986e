"""Applicant notifications: each state change, in the applicant's language, by email and SMS, logged, sent once."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.utils import timezone, translation

from procedures.lifecycle import dossier_transition
from procedures.models import Dossier, DossierEvent, NotificationLog, NotificationPreference
from procedures.notifications import NotificationFailed, notification_language, notify_event
from procedures.sms import mask_email, mask_phone, sms_text

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmsSimulator:
    """A tiny SMS gateway over real HTTP: records each POST; answers 503 while `down` is set."""

    def __init__(self):
        self.received: list[dict] = []
        self.down = False
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if simulator.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                simulator.received.append({**body, "auth": self.headers.get("Authorization")})
                answer = json.dumps({"id": f"sim-{len(simulator.received)}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sms_gateway(settings):
    with SmsSimulator() as simulator:
        settings.SMS_BACKEND = "procedures.sms.HttpSmsBackend"
        settings.SMS_HTTP_URL = simulator.url
        settings.SMS_HTTP_TOKEN = "sms-token"
        settings.HTTP_RETRIES = 0
        yield simulator


def received_event(dossier) -> DossierEvent:
    return dossier.events.get(kind=DossierEvent.Kind.RECEIVED)


def test_the_applicant_is_told_in_vietnamese_by_default_with_code_state_and_due_date(received_dossier, sms_gateway):
    received_dossier.refresh_from_db()
    assert notification_language(received_dossier.applicant) == "vi"
    notify_event(event_id=received_event(received_dossier).pk)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    with translation.override("vi"):
        state = str(Dossier.State.RECEIVED.label)
    assert message.to == ["nhung@example.vn"]
    assert received_dossier.code in message.subject and state in message.subject
    assert received_dossier.code in message.body and state in message.body
    assert timezone.localtime(received_dossier.due_at).strftime("%H:%M %d/%m/%Y") in message.body
    html = message.alternatives[0][0]
    assert received_dossier.code in html and 'lang="vi"' in html
    # SMS over HTTP to the gateway, without diacritics, with our idempotency reference.
    assert len(sms_gateway.received) == 1
    sms = sms_gateway.received[0]
    assert sms["to"] == "0912345678" and received_dossier.code in sms["text"] and sms["auth"] == "Bearer sms-token"
    assert sms["text"] == sms_text(sms["text"])
    logs = {log.channel: log for log in NotificationLog.objects.filter(dossier=received_dossier)}
    assert logs["email"].status == logs["sms"].status == NotificationLog.Status.SENT
    assert logs["email"].recipient == "n***@example.vn" and logs["sms"].recipient == "091****678"
    assert logs["email"].language == "vi" and logs["email"].sent_at is not None
    assert logs["sms"].data["provider_id"] == "sim-1"


def test_an_applicant_who_chose_english_is_told_in_english(received_dossier, settings):
    NotificationPreference.objects.create(user=received_dossier.applicant, language="en")
    notify_event(event_id=received_event(received_dossier).pk)
    body = mail.outbox[0].body
    assert f"Your dossier {received_dossier.code}" in body and "is now: Received." in body
    assert "Due for return:" in body and "What you need to do:" in body
    assert NotificationLog.objects.get(channel="email").language == "en"


def test_a_retried_task_never_sends_twice(received_dossier, sms_gateway):
    event = received_event(received_dossier)
    notify_event(event_id=event.pk)
    notify_event(event_id=event.pk)
    assert len(mail.outbox) == 1 and len(sms_gateway.received) == 1
    assert NotificationLog.objects.filter(event=event).count() == 2


def test_a_failed_sms_is_logged_and_sent_once_when_the_task_retries(received_dossier, sms_gateway):
    event = received_event(received_dossier)
    sms_gateway.down = True
    with pytest.raises(NotificationFailed):
        notify_event(event_id=event.pk)
    log = NotificationLog.objects.get(event=event, channel="sms")
    assert log.status == NotificationLog.Status.FAILED and "503" in log.error
    assert len(mail.outbox) == 1  # the email went out regardless
    sms_gateway.down = False
    notify_event(event_id=event.pk)  # the retry
    log.refresh_from_db()
    assert log.status == NotificationLog.Status.SENT and log.attempts == 2
    assert len(sms_gateway.received) == 1 and len(mail.outbox) == 1


def test_an_unreachable_mail_server_fails_the_email_for_a_retry(received_dossier, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2
    event = received_event(received_dossier)
    with pytest.raises(NotificationFailed):
        notify_event(event_id=event.pk)
    assert NotificationLog.objects.get(event=event, channel="email").status == NotificationLog.Status.FAILED
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    notify_event(event_id=event.pk)
    assert len(mail.outbox) == 1
    assert NotificationLog.objects.get(event=event, channel="email").status == NotificationLog.Status.SENT


def test_the_supplement_request_says_what_is_expected(
    received_dossier, clerk_lan, django_capture_on_commit_callbacks, settings
):
    NotificationPreference.objects.create(user=received_dossier.applicant, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        dossier_transition(
            dossier_id=received_dossier.pk,
            action="request_supplement",
            actor=clerk_lan,
            items=["Bản sao giấy phép hành nghề", "Ảnh 4x6"],
            reason="Nộp trong 01 lần",
        )
    body = mail.outbox[-1].body
    assert "Supplement your dossier with everything listed below" in body
    assert "- Bản sao giấy phép hành nghề" in body and "- Ảnh 4x6" in body and "Nộp trong 01 lần" in body
    assert "processing time is paused" in body


def test_internal_hand_overs_are_not_sent_but_state_changes_are(
    received_dossier, leader_hai, officer_minh, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dossier_transition(dossier_id=received_dossier.pk, action="assign", actor=leader_hai, officer=officer_minh.pk)
    assert len(mail.outbox) == 1  # received -> in processing is a state change
    with django_capture_on_commit_callbacks(execute=True):
        dossier_transition(dossier_id=received_dossier.pk, action="transfer", actor=leader_hai, officer=officer_minh.pk)
    assert len(mail.outbox) == 1  # a transfer inside processing: nothing for the applicant


def test_a_missing_address_or_a_turned_off_channel_is_logged_as_not_sent(received_dossier, sms_gateway):
    NotificationPreference.objects.create(user=received_dossier.applicant, sms_enabled=False)
    Dossier.objects.filter(pk=received_dossier.pk).update(applicant_email="")
    notify_event(event_id=received_event(received_dossier).pk)
    assert mail.outbox == [] and sms_gateway.received == []
    statuses = dict(NotificationLog.objects.values_list("channel", "error"))
    assert statuses == {"email": "no email address", "sms": "SMS turned off by the recipient"}


def test_masks():
    assert mask_email("nhung@example.vn") == "n***@example.vn"
    assert mask_phone("0912345678") == "091****678"
    assert sms_text("Hồ sơ đã tiếp nhận") == "Ho so da tiep nhan"


@pytest.mark.django_db
def test_the_language_switch_keeps_a_signed_in_users_choice_for_notifications(client, citizen_nhung):
    from procedures.models_notify import NotificationPreference

    client.force_login(citizen_nhung)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert NotificationPreference.objects.get(user=citizen_nhung).language == "en"
    client.logout()
    client.post("/i18n/setlang/", {"language": "vi", "next": "/"})  # anonymous: nothing stored
    assert NotificationPreference.objects.get(user=citizen_nhung).language == "en"
