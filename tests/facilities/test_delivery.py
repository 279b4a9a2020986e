"""Delivery to the interlinking simulator over real HTTP, acknowledgements, outages, and the
service-level alarms on the working-hours calendar (fixed clock, no sleeps)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from facilities.delivery import interlinking_poll
from facilities.models import FacilityAlert, HealthDocument
from facilities.rules import add_working_hours, working_calendar
from facilities.services import (
    birth_certificates_issue,
    death_notice_issue,
    document_mark_sent,
    document_reissue,
    service_levels_check,
)
from integrations.interlinking.client import InterlinkingClient, InterlinkingError
from integrations.models import OutboxMessage
from integrations.outbox import outbox_deliver, outbox_sweep
from tests.facilities.conftest import birth_data, child, death_data

VN = ZoneInfo("Asia/Ho_Chi_Minh")
State = OutboxMessage.State


def deliver_all() -> None:
    """Run the relay inline (as the worker would) for every due message, in order."""
    for _round in range(10):
        due = list(
            OutboxMessage.objects.filter(topic="interlinking.document", state=State.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not due:
            return
        for pk in due:
            outbox_deliver(message_id=pk)


@pytest.mark.django_db
def test_documents_reach_the_interlinking_software_signed_and_are_acknowledged(issuer, interlinking_simulator):
    documents = birth_certificates_issue(
        issuer=issuer, data=birth_data(children_count=2), children=[child(), child(child_sex="1")]
    )
    notice = death_notice_issue(issuer=issuer, data=death_data())
    deliver_all()
    received = interlinking_simulator.documents()
    assert sorted(d["number"] for d in received) == sorted([*(d.number for d in documents), notice.number])
    for record in received:
        assert record["copies"] == 1
    twin = next(r for r in received if r["number"] == documents[0].number)
    assert twin["fields"]["HO_TEN_NND"] == "Nguyễn Thị Hồng Nhung"
    assert twin["fields"]["SO_CON"] == 2
    assert twin["document_type"] == "GCS"
    for document in [*documents, notice]:
        document.refresh_from_db()
        assert document.delivery_status == HealthDocument.Delivery.SENT
        assert document.receipt_id.startswith("RC-")
        assert document.sent_at <= document.sync_due_at
    assert interlinking_poll() == 3
    interlinking_simulator.use(documents[0].number, "KS-2026-000123")
    assert interlinking_poll() == 1
    documents[0].refresh_from_db()
    assert documents[0].delivery_status == HealthDocument.Delivery.USED
    assert documents[0].registration_reference == "KS-2026-000123"
    notice.refresh_from_db()
    assert notice.delivery_status == HealthDocument.Delivery.ACKNOWLEDGED


@pytest.mark.django_db
def test_the_wire_pdf_is_the_signed_pdf_and_a_reissue_names_what_it_supersedes(issuer, head, interlinking_simulator):
    from facilities.delivery import wire_document

    (original,) = birth_certificates_issue(issuer=issuer, data=birth_data(), children=[child()])
    new = document_reissue(
        issuer=head, document_id=original.pk, reason="error", note="Sai giới tính", data={"child_sex": "1"}
    )
    wire = wire_document(new)
    pdf = base64.b64decode(wire["pdf"])
    assert hashlib.sha256(pdf).hexdigest() == new.sha256 == wire["sha256"]
    assert wire["supersedes"] == {"number": original.number, "revision": 1}
    assert wire["revision"] == 2 and wire["reissue_reason"] == "error"
    deliver_all()
    revisions = [(d["number"], d["revision"]) for d in interlinking_simulator.documents()]
    assert revisions == [(original.number, 1), (original.number, 2)]


@pytest.mark.django_db
def test_the_simulator_refuses_a_bad_token_and_rejects_tampered_content(interlinking_simulator, issuer):
    from facilities.delivery import wire_document

    (document,) = birth_certificates_issue(issuer=issuer, data=birth_data(), children=[child()])
    wire = wire_document(document)
    bad = InterlinkingClient(url=interlinking_simulator.url, token="wrong", sender="t", retries=0)
    with pytest.raises(InterlinkingError) as caught:
        bad.submit([wire])
    assert caught.value.permanent is False  # a credential problem: keep the message for after the fix
    good = InterlinkingClient(url=interlinking_simulator.url, token="test-interlinking-token", sender="t", retries=0)
    tampered = {**wire, "sha256": "0" * 64}
    (result,) = good.submit([tampered])
    assert result.status == "rejected" and "sha256" in result.message
    first, again = good.submit([wire])[0], good.submit([wire])[0]
    assert (first.status, again.status) == ("accepted", "duplicate")
    assert first.receipt_id == again.receipt_id


# Leaving the portal app out of available_apps keeps the flush from deleting the audit chain head.
@pytest.mark.django_db(transaction=True, available_apps=[a for a in settings.INSTALLED_APPS if a != "portal"])
def test_an_outage_of_the_interlinking_software_loses_nothing_and_catches_up(issuer, interlinking_simulator):
    """The simulator is down while documents are issued; the relay retries; after it is back every
    document arrives exactly once (duplicates are answered as such), in order per number."""
    interlinking_simulator.faults(down=True)
    documents = []
    for i in range(4):
        documents += birth_certificates_issue(
            issuer=issuer,
            data=birth_data(children_count=2),
            children=[child(birth_at=f"2026-11-2{i}T08:0{i}"), child(birth_at=f"2026-11-2{i}T08:1{i}", child_sex="1")],
        )
    # Every delivery so far failed and waits for a retry; none is lost or dead.
    messages = OutboxMessage.objects.filter(topic="interlinking.document")
    assert messages.count() == 8
    assert set(messages.values_list("state", flat=True)) == {State.PENDING}
    assert all(m.attempts >= 1 and "503" in m.last_error for m in messages)
    assert HealthDocument.objects.filter(delivery_status="issued").count() == 8
    refused = [r for r in interlinking_simulator.requests() if r["refused_down"]]
    assert refused
    assert interlinking_simulator.documents() == []
    # The sweeper retries while it is still down: still nothing lost.
    outbox_sweep()
    assert set(OutboxMessage.objects.filter(topic="interlinking.document").values_list("state", flat=True)) == {
        State.PENDING
    }
    # Back up: the next sweep delivers the backlog.
    interlinking_simulator.faults(clear=True)
    outbox_sweep()
    assert set(OutboxMessage.objects.filter(topic="interlinking.document").values_list("state", flat=True)) == {
        State.DELIVERED
    }
    received = interlinking_simulator.documents()
    assert sorted(r["number"] for r in received) == sorted(d.number for d in documents)
    assert all(r["copies"] == 1 for r in received)
    assert HealthDocument.objects.filter(delivery_status="sent").count() == 8


@pytest.mark.django_db
def test_a_slow_answer_still_delivers(issuer, interlinking_simulator):
    interlinking_simulator.faults(slow_ms=300)
    (document,) = birth_certificates_issue(issuer=issuer, data=birth_data(), children=[child()])
    deliver_all()
    document.refresh_from_db()
    assert document.delivery_status == HealthDocument.Delivery.SENT


# --- the 2-hour acknowledgement alarm on the working-hours calendar -------------------------------


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=VN)


@pytest.mark.django_db
def test_two_working_hours_skip_lunch_nights_weekends_and_holidays():
    from procedures.models import Holiday

    calendar = working_calendar()
    assert add_working_hours(at(25, 11, 30), 2, calendar=calendar) == at(25, 14, 30)  # lunch 12-13 excluded
    assert add_working_hours(at(27, 16, 0), 2, calendar=calendar) == at(30, 9, 0)  # Friday 16:00 -> Monday 09:00
    assert add_working_hours(at(28, 10, 0), 2, calendar=calendar) == at(30, 10, 0)  # from a Saturday
    Holiday.objects.create(date=dt.date(2026, 11, 30), name="Ngày nghỉ (minh họa)")
    assert add_working_hours(at(27, 16, 0), 2) == at(1, 9, 0, month=12)  # the Monday is a holiday
    # A make-up working Saturday entered by an administrator is worked (the portal's one calendar).
    Holiday.objects.create(date=dt.date(2026, 11, 28), name="Làm bù (minh họa)", kind=Holiday.Kind.MAKEUP_WORKING)
    assert add_working_hours(at(27, 16, 0), 2) == at(28, 9, 0)


@pytest.mark.django_db
def test_the_acknowledgement_alarm_fires_after_two_working_hours_and_the_delivery_is_retried(
    issuer, interlinking_simulator, django_capture_on_commit_callbacks
):
    from procedures.models import Holiday

    Holiday.objects.create(date=dt.date(2026, 11, 30), name="Ngày nghỉ (minh họa)")
    interlinking_simulator.faults(no_ack=True)
    (document,) = birth_certificates_issue(issuer=issuer, data=birth_data(), children=[child()])
    deliver_all()
    # Fix the clock: the simulator received it on Friday 27 Nov at 16:00.
    HealthDocument.objects.filter(pk=document.pk).update(sent_at=None, delivery_status="issued")
    document_mark_sent(
        document_id=document.pk, receipt_id=HealthDocument.objects.get(pk=document.pk).receipt_id, at=at(27, 16, 0)
    )
    document.refresh_from_db()
    assert document.ack_due_at == at(1, 9, 0, month=12)  # Fri 16-17, (weekend, holiday Monday), Tue 08-09
    assert interlinking_poll() == 0  # received, not acknowledged
    HealthDocument.objects.filter(pk=document.pk).update(sync_due_at=at(27, 16, 5), signed_data_due_at=at(27, 17, 0))
    # One minute before the due time: no alarm.
    assert service_levels_check(now=at(1, 8, 59, month=12)) == []
    assert not FacilityAlert.objects.exists()
    # One minute after: the alarm, once, and the document is queued again.
    with django_capture_on_commit_callbacks(execute=True):
        (alert,) = service_levels_check(now=at(1, 9, 1, month=12))
    assert (alert.kind, alert.due_at, alert.retried) == ("ack_late", at(1, 9, 0, month=12), False)
    alert.refresh_from_db()
    assert alert.retried
    assert OutboxMessage.objects.filter(topic="interlinking.document").count() == 2
    deliver_all()
    copies = [d["copies"] for d in interlinking_simulator.documents()]
    assert copies == [2]  # the re-send arrived and was recognised as the same document
    # Checked again within the next two working hours: no new alarm, no new re-send.
    assert service_levels_check(now=at(1, 10, 30, month=12)) == []
    assert OutboxMessage.objects.filter(topic="interlinking.document").count() == 2
    # Two more working hours without an answer: re-sent again, still one open alarm.
    service_levels_check(now=at(1, 11, 2, month=12))
    assert OutboxMessage.objects.filter(topic="interlinking.document").count() == 3
    assert FacilityAlert.objects.filter(resolved_at__isnull=True).count() == 1
    # The receiver acknowledges: the alarm is resolved; the report counts it as acknowledged late.
    interlinking_simulator.faults(clear=True)
    assert interlinking_poll() == 1
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    from facilities.selectors import facility_report

    report = facility_report(facility=document.facility, start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31))
    assert report.acknowledged == 1 and report.acknowledged_late == 1


@pytest.mark.django_db
def test_not_synchronised_in_ten_minutes_raises_the_sync_alarm_then_the_four_hour_one(issuer):
    (document,) = birth_certificates_issue(issuer=issuer, data=birth_data(), children=[child()])
    HealthDocument.objects.filter(pk=document.pk).update(
        issued_at=at(25, 10, 0), sync_due_at=at(25, 10, 10), signed_data_due_at=add_working_hours(at(25, 10, 0), 4)
    )
    document.refresh_from_db()
    assert document.signed_data_due_at == at(25, 15, 0)
    assert service_levels_check(now=at(25, 10, 9)) == []
    (sync,) = service_levels_check(now=at(25, 10, 11))
    assert sync.kind == "sync_late"
    assert service_levels_check(now=at(25, 14, 59)) == []
    (late,) = service_levels_check(now=at(25, 15, 1))
    assert late.kind == "signed_data_late"
    document_mark_sent(document_id=document.pk, receipt_id="RC-x", at=at(25, 15, 30))
    assert FacilityAlert.objects.filter(resolved_at__isnull=True).count() == 0
