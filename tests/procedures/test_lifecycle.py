"""The lifecycle service: every action through one door, with roles, reasons, the ledger and the outbox."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone, translation

from integrations.models import OutboxMessage
from portal.errors import ApplicationError
from procedures import clock
from procedures.lifecycle import ACTIONS, allowed_actions, dossier_transition
from procedures.models import Dossier, DossierEvent, DossierStep, Holiday, Procedure, ProcedureStage

VN = ZoneInfo("Asia/Ho_Chi_Minh")
S = Dossier.State


def act(dossier, action, actor, **kw):
    return dossier_transition(dossier_id=dossier.pk, action=action, actor=actor, **kw)


@pytest.fixture
def staged_procedure(procedure):
    for order, (name, role, budget) in enumerate(
        [
            ("Tiếp nhận, kiểm tra", ProcedureStage.Role.RECEPTION, 1),
            ("Thẩm định", ProcedureStage.Role.SPECIALIST, 140),
            ("Lãnh đạo phê duyệt", ProcedureStage.Role.LEADER_APPROVAL, 4),
            ("Ký duyệt", ProcedureStage.Role.SIGNING, 2),
            ("Văn thư vào số", ProcedureStage.Role.RECORDS, 1),
        ],
        start=1,
    ):
        procedure.stages.create(order=order, name=name, role=role, budget=budget)
    return procedure


@pytest.fixture
def quiet(django_capture_on_commit_callbacks):
    """Run services without their after-commit follow-ups (PDFs, notifications)."""
    with django_capture_on_commit_callbacks(execute=False):
        yield


def test_a_dossier_goes_through_every_stage_to_the_returned_result(
    staged_procedure, submitted_dossier, clerk_lan, leader_hai, officer_minh, signer_tuan, records_thu, quiet
):
    d = act(submitted_dossier, "receive", clerk_lan)
    assert d.state == S.RECEIVED and d.due_at is not None and d.rule_version.startswith("ND118-2025")
    d = act(d, "assign", leader_hai, officer=officer_minh.pk)
    assert d.state == S.IN_PROCESSING and d.assigned_to == officer_minh and d.stage_name == "Thẩm định"
    d = act(d, "forward_for_approval", officer_minh)
    d = act(d, "send_back", leader_hai, reason="Bổ sung ý kiến thẩm định")
    assert d.state == S.IN_PROCESSING
    d = act(d, "forward_for_approval", officer_minh)
    d = act(d, "approve", leader_hai)
    assert d.state == S.AWAITING_SIGNATURE and d.decision == Dossier.Decision.APPROVED
    d = act(d, "sign", signer_tuan)
    d = act(d, "issue", records_thu)
    assert d.state == S.RESULT_READY and d.result_number.endswith(f"/{timezone.localdate().year}/KQ")
    assert d.national_status == 9
    d = act(d, "return_result", clerk_lan, method="counter")
    assert d.state == S.RETURNED and d.national_status == 10 and d.finished_at is not None

    kinds = list(d.events.values_list("kind", flat=True))
    assert kinds == [
        "submitted", "received", "assigned", "forwarded", "sent_back", "forwarded",
        "approved", "signed", "issued", "returned",
    ]  # fmt: skip
    assert list(d.events.exclude(clock_effect="").values_list("clock_effect", flat=True)) == ["start", "stop"]
    # One outbox message per change after receipt, in order, each with the national status of its state.
    statuses = [m.payload["status"] for m in OutboxMessage.objects.filter(key=d.code).order_by("id")]
    assert statuses == [2, 4, 4, 4, 4, 4, 4, 9, 10]
    # The process-control slip's rows: one per holder, all closed, each with an outcome.
    steps = list(DossierStep.objects.filter(dossier=d).order_by("started_at", "id"))
    assert [s.stage_name for s in steps][:3] == ["Tiếp nhận, kiểm tra", "Thẩm định", "Lãnh đạo phê duyệt"]
    assert all(s.finished_at and s.outcome for s in steps)


def test_the_wrong_role_or_the_wrong_agency_is_refused_with_a_clear_message(
    received_dossier, officer_minh, leader_other_agency, citizen_outsider, quiet
):
    with translation.override("en"), pytest.raises(ApplicationError, match="You may not assign") as info:
        act(received_dossier, "assign", officer_minh, officer=officer_minh.pk)
    assert info.value.status == 403
    with pytest.raises(ApplicationError) as info:  # another agency's leader does not even see it
        act(received_dossier, "assign", leader_other_agency, officer=officer_minh.pk)
    assert info.value.status == 404
    with pytest.raises(ApplicationError) as info:
        act(received_dossier, "withdraw", citizen_outsider)
    assert info.value.status == 404


def test_an_illegal_transition_is_refused_not_a_500(received_dossier, signer_tuan, leader_hai, quiet):
    with translation.override("en"), pytest.raises(ApplicationError, match="is not possible now") as info:
        act(received_dossier, "sign", signer_tuan)
    assert info.value.status == 409
    with translation.override("en"), pytest.raises(ApplicationError, match="required"):
        act(received_dossier, "stop", leader_hai)  # the law asks for a reason
    assert Dossier.objects.get(pk=received_dossier.pk).state == S.RECEIVED


def test_a_supplement_pauses_the_clock_and_resumes_it_keeping_time_used(
    received_dossier, clerk_lan, citizen_nhung, quiet
):
    due_before = received_dossier.due_at
    d = act(received_dossier, "request_supplement", clerk_lan, items=["Bản sao chứng chỉ hành nghề"], reason="")
    assert d.state == S.SUPPLEMENT_REQUESTED and d.clock_paused and d.national_status == 5
    d = act(d, "supplement", citizen_nhung)
    assert d.state == S.SUPPLEMENTED
    d = act(d, "accept_supplement", clerk_lan)
    assert d.state == S.RECEIVED and not d.clock_paused
    assert d.due_at >= due_before  # the pause pushed the date, never earlier
    effects = list(d.events.exclude(clock_effect="").values_list("clock_effect", flat=True))
    assert effects == ["start", "pause", "resume"]
    # The stored due date is exactly what the ledger gives, recomputed from scratch.
    fresh = Dossier.objects.get(pk=d.pk)
    clock.dossier_clock_apply(fresh)
    assert fresh.due_at == d.due_at


def test_a_restart_rule_gives_the_full_limit_again(procedure, submitted_dossier, clerk_lan, citizen_nhung, quiet):
    Procedure.objects.filter(pk=procedure.pk).update(on_supplement=Procedure.OnSupplement.RESTART)
    version = submitted_dossier.procedure_version
    version.on_supplement = Procedure.OnSupplement.RESTART
    version.save()
    d = act(submitted_dossier, "receive", clerk_lan)
    d = act(d, "request_supplement", clerk_lan, items=["Đơn đề nghị có chữ ký"])
    d = act(d, "supplement", citizen_nhung)
    d = act(d, "accept_supplement", clerk_lan)
    restart = d.events.get(clock_effect="restart")
    calendar = clock.agency_calendar(d.agency)
    expected = clock.add_working_days_at(calendar, restart.at, 150)
    assert abs((d.due_at - expected).total_seconds()) < 1


def test_supplement_at_intake_does_not_start_the_clock(submitted_dossier, clerk_lan, citizen_nhung, quiet):
    d = act(submitted_dossier, "request_supplement", clerk_lan, items=["Bản chụp căn cước"])
    assert d.national_status == 5 and d.due_at is None
    d = act(d, "supplement", citizen_nhung)
    assert d.national_status == 1
    d = act(d, "accept_supplement", clerk_lan)
    assert d.state == S.SUBMITTED and not d.events.exclude(clock_effect="").exists()


def test_refusal_needs_reasons_and_is_final(submitted_dossier, clerk_lan, quiet):
    d = act(submitted_dossier, "refuse", clerk_lan, reason="Hồ sơ không thuộc thẩm quyền giải quyết")
    assert d.state == S.REFUSED and d.national_status == 3 and d.refusal_reason
    assert allowed_actions(d, clerk_lan) == []


def test_withdrawal_before_receipt_withdraws_and_after_receipt_stops(
    submitted_dossier, received_dossier, citizen_nhung, procedure, quiet
):
    d = act(received_dossier, "withdraw", citizen_nhung, reason="Không còn nhu cầu")
    assert d.state == S.STOPPED and d.national_status == 8
    assert d.events.last().clock_effect == "stop"


def test_withdrawal_of_a_dossier_not_yet_received(submitted_dossier, citizen_nhung, quiet):
    d = act(submitted_dossier, "withdraw", citizen_nhung)
    assert d.state == S.WITHDRAWN and d.national_status == 7


def test_the_appointment_can_be_rescheduled_once_and_only_in_time(received_dossier, leader_hai, quiet):
    new_due = received_dossier.due_at + dt.timedelta(days=10)
    with translation.override("en"), pytest.raises(ApplicationError, match="later than"):
        act(received_dossier, "extend", leader_hai, reason="Chờ ý kiến", new_due=received_dossier.due_at)
    d = act(received_dossier, "extend", leader_hai, reason="Chờ ý kiến cơ quan phối hợp", new_due=new_due)
    assert d.due_at == new_due and d.extended and d.original_due_at == received_dossier.due_at
    with translation.override("en"), pytest.raises(ApplicationError, match="only once"):
        act(d, "extend", leader_hai, reason="Lần nữa", new_due=new_due + dt.timedelta(days=5))


def test_the_apology_is_refused_later_than_one_working_day_before_the_deadline(
    received_dossier, leader_hai, quiet, monkeypatch
):
    late = received_dossier.due_at - dt.timedelta(hours=2)
    monkeypatch.setattr(timezone, "now", lambda: late)
    with translation.override("en"), pytest.raises(ApplicationError, match="at least 1 working day"):
        act(received_dossier, "extend", leader_hai, reason="Chậm", new_due=received_dossier.due_at + dt.timedelta(7))


def test_consultation_is_answered_by_the_consulted_agency_only(
    received_dossier, leader_hai, officer_minh, officer_other_agency, other_agency, quiet
):
    d = act(received_dossier, "assign", leader_hai, officer=officer_minh.pk)
    d = act(d, "consult", officer_minh, agency=other_agency.pk, reason="Xin ý kiến về chuyên môn")
    assert d.state == S.IN_CONSULTATION and d.national_status == 4
    with pytest.raises(ApplicationError):
        act(d, "answer_consultation", officer_minh, reason="Tự trả lời")
    d = act(d, "answer_consultation", officer_other_agency, reason="Thống nhất")
    assert d.state == S.IN_PROCESSING


def test_an_officer_acts_only_on_dossiers_assigned_to_them(received_dossier, leader_hai, officer_minh, agency, quiet):
    from tests.conftest import make_staff

    other = make_staff("officer-2", agency, "processing_officer", first="Long", last="Vũ")
    d = act(received_dossier, "assign", leader_hai, officer=officer_minh.pk)
    with pytest.raises(ApplicationError) as info:
        act(d, "forward_for_approval", other)
    assert info.value.status == 403


def test_every_action_has_a_label_and_every_state_a_national_status():
    assert all(str(a.label) for a in ACTIONS.values())
    assert set(Dossier.NATIONAL_STATUS) | {S.SUPPLEMENTED} == set(S)


def test_events_are_append_only(received_dossier):
    event = received_dossier.events.first()
    with pytest.raises(Exception, match="append-only"):
        DossierEvent.objects.filter(pk=event.pk).update(reason="changed")


def test_tet_does_not_count(procedure, submitted_dossier, clerk_lan, quiet, monkeypatch):
    for day in range(16, 21):  # Tết Bính Ngọ 2026 (weekdays 16-20 Feb), entered by an administrator
        Holiday.objects.create(date=dt.date(2026, 2, day), name="Tết Nguyên đán")
    received = dt.datetime(2026, 2, 13, 9, 30, tzinfo=VN)  # Friday before Tết
    monkeypatch.setattr(timezone, "now", lambda: received)
    Procedure.objects.filter(pk=procedure.pk).update(time_limit_days=2)
    version = submitted_dossier.procedure_version
    version.time_limit_days = 2
    version.save()
    d = act(submitted_dossier, "receive", clerk_lan)
    assert timezone.localtime(d.due_at) == dt.datetime(2026, 2, 24, 9, 30, tzinfo=VN)
    assert d.due_unconfirmed  # nobody confirmed the 2026 calendar


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_two_clerks_receiving_at_once_exactly_one_wins(request):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    dossier = request.getfixturevalue("submitted_dossier")
    clerk = request.getfixturevalue("clerk_lan")
    from tests.conftest import make_staff

    second = make_staff("clerk-2", dossier.agency, "reception_clerk", first="Mai", last="Đinh")
    results: list[str] = []
    barrier = threading.Barrier(2)

    def receive(actor):
        barrier.wait()
        try:
            act(dossier, "receive", actor)
            results.append("ok")
        except ApplicationError as error:
            results.append(f"refused {error.status}")
        finally:
            connection.close()

    threads = [threading.Thread(target=receive, args=(u,)) for u in (clerk, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "refused 409"]
    assert DossierEvent.objects.filter(dossier=dossier, kind="received").count() == 1


def test_the_committed_state_diagram_is_generated_from_the_code():
    from pathlib import Path

    from django.conf import settings

    from procedures.diagram import lifecycle_mermaid

    committed = (Path(settings.BASE_DIR) / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    assert committed == lifecycle_mermaid(), "docs/lifecycle.md is stale: run `python manage.py lifecycle_diagram`"


def test_the_sweep_renders_the_slips_whose_follow_up_was_lost(received_dossier):
    from procedures.models import OfficialDocument
    from procedures.tasks import official_documents_sweep_task

    assert not OfficialDocument.objects.filter(dossier=received_dossier).exists()  # the follow-up never ran
    assert official_documents_sweep_task() == 1
    assert OfficialDocument.objects.filter(dossier=received_dossier, kind="receipt").count() == 1
    assert official_documents_sweep_task() == 0  # idempotent
