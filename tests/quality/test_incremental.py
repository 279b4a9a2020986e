"""The counters kept current from real lifecycle transitions (fixed clock), by the periodic refresh."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from integrations.models import OutboxMessage
from procedures import clock
from procedures.lifecycle import dossier_transition
from procedures.models import Dossier, DossierRating
from quality.facts import differences, quality_refresh, recount, table_totals
from quality.models import DossierFact, RefreshState
from quality.selectors import Filters, totals
from tests.quality.conftest import at

pytestmark = pytest.mark.django_db


class FixedClock:
    def __init__(self, monkeypatch, start):
        self.now = start
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def set(self, moment):
        self.now = moment


@pytest.fixture
def quiet(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        yield


def submit(procedure, citizen):
    from procedures.services import ApplicantData, dossier_submit
    from procedures.uploads import check_upload
    from tests.conftest import pdf_upload

    return dossier_submit(
        procedure=procedure,
        applicant_user=citizen,
        applicant=ApplicantData(
            name="Nguyễn Thị Hồng Nhung", national_id="001195012345", address="Hà Nội", phone="0912345678", email=""
        ),
        request_summary="Đề nghị",
        upload=check_upload(pdf_upload()),
        document_title="Đơn đề nghị",
    )


def act(dossier, action, actor, **kw):
    return dossier_transition(dossier_id=dossier.pk, action=action, actor=actor, **kw)


def test_transitions_update_the_counters_incrementally_and_match_a_recount(
    monkeypatch,
    quiet,
    calendar_2026,
    procedure,
    citizen_nhung,
    clerk_lan,
    leader_hai,
    officer_minh,
    signer_tuan,
    records_thu,
):
    real_now = timezone.now
    fixed = FixedClock(monkeypatch, at(2026, 3, 2, 7))
    a = submit(procedure, citizen_nhung)
    b = submit(procedure, citizen_nhung)
    c = submit(procedure, citizen_nhung)
    # Model field defaults captured the real clock: put the submissions on the fixed one too.
    Dossier.objects.filter(pk__in=[a.pk, b.pk, c.pk]).update(submitted_at=fixed.now)
    fixed.set(at(2026, 3, 2, 8))
    a = act(a, "receive", clerk_lan)
    b = act(b, "receive", clerk_lan)
    fixed.set(at(2026, 3, 2, 9))
    c = act(c, "withdraw", citizen_nhung)  # before receipt: withdrawn, not stopped
    assert c.state == "withdrawn"

    first = quality_refresh(now=real_now())
    assert first["dossiers"] == 3
    march = Filters(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    t = totals(march)
    assert (t["submitted"], t["received"], t["withdrawn"], t["resolved"]) == (3, 2, 1, 0)

    # a: a supplement pauses the clock for a week, then it goes all the way to the result.
    fixed.set(at(2026, 3, 3, 8))
    a = act(a, "request_supplement", clerk_lan, items=["Bản sao chứng chỉ"])
    fixed.set(at(2026, 3, 10, 8))
    a = act(a, "supplement", citizen_nhung)
    a = act(a, "accept_supplement", clerk_lan)
    fixed.set(at(2026, 3, 11, 8))
    a = act(a, "assign", leader_hai, officer=officer_minh.pk)
    a = act(a, "forward_for_approval", officer_minh)
    a = act(a, "approve", leader_hai)
    a = act(a, "sign", signer_tuan)
    fixed.set(at(2026, 3, 12, 8))
    a = act(a, "issue", records_thu)
    # b: stopped by the leader (the applicant withdrew after receipt: a stop, with its notice).
    fixed.set(at(2026, 3, 4, 8))
    b = act(b, "withdraw", citizen_nhung)
    assert b.state == "stopped"

    second = quality_refresh(now=real_now())
    # a and b have new events; c is looked at again (its upload is inside the overlap window) but unchanged.
    assert second["changed"] == 2
    t = totals(march)
    assert (t["received"], t["resolved"], t["resolved_early"], t["stopped"], t["withdrawn"]) == (2, 1, 1, 1, 1)
    # Net of the pause: 2/3 08:00 to 3/3 08:00, then 10/3 08:00 to 12/3 08:00 = 3 working days.
    calendar = clock.agency_calendar(procedure.agency)
    expected = clock.working_days_between(calendar, at(2026, 3, 2), at(2026, 3, 3)) + clock.working_days_between(
        calendar, at(2026, 3, 10), at(2026, 3, 12)
    )
    assert expected == 3.0 and t["resolution_mdays"] == 3000
    assert DossierFact.objects.get(pk=a.pk).outcome == "early"

    # Changes that write no dossier event: the national portal acknowledges a; a rating arrives.
    assert t["synced"] == 0
    OutboxMessage.objects.filter(key=a.code).update(state="delivered", delivered_at=real_now())
    with transaction.atomic():
        DossierRating.objects.create(dossier=a, source="portal", score=3, rated_at=at(2026, 3, 13, 9))
    quality_refresh(now=real_now())
    t = totals(march)
    assert (t["synced"], t["ratings"], t["ratings_satisfied"]) == (1, 1, 1)

    assert differences(table_totals(), recount()) == []
    assert RefreshState.objects.get(pk=1).last_event_id > 0


def test_the_refresh_is_idempotent_and_catches_an_event_committed_late(dataset):
    from procedures.models import DossierEvent

    quality_refresh()
    stored = table_totals()
    assert quality_refresh()["changed"] == 0 and table_totals() == stored
    # An event whose id is below the watermark (it committed after a later one was seen) is still
    # found by the time window: here a second, online payment of the "paused" dossier.
    event = DossierEvent.objects.create(
        dossier=dataset["paused"], kind="payment_confirmed", to_state="returned", data={"online": True}
    )
    RefreshState.objects.filter(pk=1).update(last_event_id=event.pk + 1000)
    assert quality_refresh()["changed"] == 1
    march = Filters(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert (totals(march)["paid"], totals(march)["paid_online"]) == (2, 2)
    assert differences(table_totals(), recount()) == []
