"""Hand-built dossiers with known answers for the service-quality indicators."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from portal.crypto import pii_hash
from tests.conftest import totp_enrol

VN = ZoneInfo("Asia/Ho_Chi_Minh")
_seq = itertools.count(1)


def at(year, month, day, hour=8, minute=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=VN)


def build_dossier(
    *,
    procedure,
    applicant,
    channel="online",
    submitted,
    received=None,
    ledger=(),
    due=None,
    issued=None,
    state=None,
    finished=None,
    documents=(),
    e_result=False,
    synced=False,
    payments=(),
    ratings=(),
    name="Nguyễn Văn An",
):
    """A dossier written straight into the tables, with its events (ledger: [(effect, at, new_due?)])."""
    from integrations.models import OutboxMessage
    from procedures.models import Dossier, DossierDocument, DossierEvent, DossierRating, OfficialDocument

    n = next(_seq)
    if state is None:
        state = Dossier.State.RETURNED if issued else (Dossier.State.IN_PROCESSING if received else "submitted")
    dossier = Dossier.objects.create(
        reference=f"TQ{n:06d}",
        code=f"G18.001.02-260101-{n:04d}" if received else None,
        procedure=procedure,
        agency=procedure.agency,
        applicant=applicant,
        channel=channel,
        applicant_name=name,
        applicant_national_id="001195012345",
        applicant_national_id_hash=pii_hash("001195012345"),
        applicant_address="Hà Nội",
        applicant_phone="0912345678",
        request_summary="Dữ liệu thử",
        state=state,
        submitted_at=submitted,
        received_at=received,
        due_at=due,
        result_issued_at=issued,
        finished_at=finished or (issued if state == Dossier.State.RETURNED else None),
    )
    DossierEvent.objects.create(dossier=dossier, kind="submitted", to_state="submitted", at=submitted)
    kinds = {"start": "received", "pause": "supplement_requested", "resume": "supplement_accepted",
             "extend": "extended", "stop": "issued"}  # fmt: skip
    for item in ledger:
        effect, when = item[0], item[1]
        DossierEvent.objects.create(
            dossier=dossier,
            kind=kinds[effect] if not (effect == "stop" and state == Dossier.State.STOPPED) else "stopped",
            to_state=state,
            at=when,
            clock_effect=effect,
            clock_new_due=item[2] if len(item) > 2 else None,
        )
    for when, online in payments:
        DossierEvent.objects.create(
            dossier=dossier, kind="payment_confirmed", to_state=state, at=when, data={"online": online}
        )
    if state in (Dossier.State.WITHDRAWN, Dossier.State.REFUSED):
        DossierEvent.objects.create(dossier=dossier, kind=state, to_state=state, at=finished)
    for source in documents:
        DossierDocument.objects.create(
            dossier=dossier, title="Đơn", file="x.pdf", original_name="x.pdf", content_type="application/pdf",
            size=10, sha256="0" * 64, source=source,
        )  # fmt: skip
    if e_result:
        OfficialDocument.objects.create(
            dossier=dossier, kind="result", template_version="t", file="r.pdf", sha256="0" * 64
        )
    if received:
        OutboxMessage.objects.create(
            topic="national_portal.dossier",
            key=dossier.code,
            sequence=1,
            idempotency_key=f"q-{n}",
            payload={},
            state="delivered" if synced else "pending",
            delivered_at=received if synced else None,
        )
    for when, score in ratings:
        DossierRating.objects.create(dossier=dossier, source="portal", score=score, rated_at=when)
    return dossier


@pytest.fixture
def calendar_2026(db):
    """Weekdays are working days, except 1 January 2026 (a holiday), whatever the seed data says."""
    from procedures.models import Holiday

    Holiday.objects.filter(date__gte=dt.date(2025, 12, 1), date__lte=dt.date(2026, 3, 31)).delete()
    Holiday.objects.create(date=dt.date(2026, 1, 1), name="Tết Dương lịch", kind="holiday")


@pytest.fixture
def dataset(calendar_2026, procedure, citizen_nhung):
    """Eight dossiers; the expected answers are worked out by hand in test_formulas.py."""
    p, u = procedure, citizen_nhung
    d = {}
    d["early"] = build_dossier(
        procedure=p,
        applicant=u,
        channel="online",
        submitted=at(2026, 3, 2, 7),
        received=at(2026, 3, 2),
        ledger=[("start", at(2026, 3, 2)), ("stop", at(2026, 3, 6))],
        due=at(2026, 3, 10, 17),
        issued=at(2026, 3, 6),
        documents=["upload"],
        e_result=True,
        synced=True,
        payments=[(at(2026, 3, 2, 9), True)],
        ratings=[(at(2026, 3, 7, 10), 3)],
    )
    d["paused"] = build_dossier(
        procedure=p, applicant=u, channel="counter", submitted=at(2026, 3, 2, 7), received=at(2026, 3, 2),
        ledger=[("start", at(2026, 3, 2)), ("pause", at(2026, 3, 3)), ("resume", at(2026, 3, 9)),
                ("stop", at(2026, 3, 11))],
        due=at(2026, 3, 11, 17), issued=at(2026, 3, 11), documents=["scanned", "reused"],
        payments=[(at(2026, 3, 2, 9), False)], ratings=[(at(2026, 3, 12, 10), 1)], name="Trần Thị Bình",
    )  # fmt: skip
    d["extended_late"] = build_dossier(
        procedure=p, applicant=u, channel="counter", submitted=at(2026, 3, 3, 7), received=at(2026, 3, 3),
        ledger=[("start", at(2026, 3, 3)), ("extend", at(2026, 3, 4), at(2026, 3, 20, 17)),
                ("stop", at(2026, 3, 24, 12, 30))],
        due=at(2026, 3, 20, 17), issued=at(2026, 3, 24, 12, 30),
    )  # fmt: skip
    d["withdrawn"] = build_dossier(
        procedure=p,
        applicant=u,
        channel="online",
        submitted=at(2026, 3, 4, 7),
        state="withdrawn",
        finished=at(2026, 3, 5, 9),
        documents=["upload"],
    )
    d["refused"] = build_dossier(
        procedure=p,
        applicant=u,
        channel="counter",
        submitted=at(2026, 3, 4, 7),
        state="refused",
        finished=at(2026, 3, 5, 9),
    )
    d["stopped"] = build_dossier(
        procedure=p,
        applicant=u,
        channel="online",
        submitted=at(2026, 3, 5, 7),
        received=at(2026, 3, 5),
        ledger=[("start", at(2026, 3, 5)), ("stop", at(2026, 3, 6))],
        due=at(2026, 8, 1, 17),
        state="stopped",
        finished=at(2026, 3, 6),
        documents=["upload"],
    )
    d["new_year"] = build_dossier(
        procedure=p,
        applicant=u,
        channel="national_portal",
        submitted=at(2025, 12, 29, 7),
        received=at(2025, 12, 29),
        ledger=[("start", at(2025, 12, 29)), ("stop", at(2026, 1, 5))],
        due=at(2026, 1, 5, 17),
        issued=at(2026, 1, 5),
        documents=["upload"],
        synced=True,
        ratings=[(at(2026, 1, 6, 10), 2)],
    )
    d["month_end"] = build_dossier(
        procedure=p,
        applicant=u,
        channel="online",
        submitted=at(2026, 2, 27, 7),
        received=at(2026, 2, 27),
        ledger=[("start", at(2026, 2, 27)), ("stop", at(2026, 3, 2, 17))],
        due=at(2026, 3, 3, 17),
        issued=at(2026, 3, 2, 17),
        documents=["upload"],
    )
    return d


@pytest.fixture
def ministry_user(db):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(
        username="ministry", password="staff-password-2026", first_name="Hà", last_name="Vụ Pháp chế", is_staff=True
    )
    user.user_permissions.add(Permission.objects.get(codename="view_all_agencies"))
    return totp_enrol(user)
