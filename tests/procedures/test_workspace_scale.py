"""The workspace queues at scale: every queue's keyset read is served by an index, in order, on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from django.db import connection
from django.utils import timezone

from portal.crypto import pii_hash
from procedures import queues
from procedures.models import Dossier, StaffProfile
from procedures.text import search_normalise
from tests.conftest import make_staff

S = Dossier.State
_serial = itertools.count(1)


def bulk_dossiers(*, agency, procedure, applicant, count, state=S.RECEIVED, undated_every=0, **fields):
    """COUNT dossiers written in one INSERT (no lifecycle: fixtures for reads only), due dates spread out."""
    now = timezone.now()
    rows = []
    for i in range(count):
        n = next(_serial)
        undated = state == S.SUBMITTED or (bool(undated_every) and i % undated_every == 0)
        name = f"Nguyễn Văn Bench {n}"
        rows.append(
            Dossier(
                reference=f"TN999999-B{n:05d}",
                code=None if undated else f"{agency.code}-261125-{n:06d}",
                procedure=procedure,
                agency=agency,
                applicant=applicant,
                applicant_name=name,
                applicant_name_search=search_normalise(name),
                applicant_national_id=f"0010{n:08d}",
                applicant_national_id_hash=pii_hash(f"0010{n:08d}"),
                applicant_address="Hà Nội",
                applicant_phone="0900000000",
                request_summary="bench",
                state=state if state == S.SUBMITTED or not undated else S.SUBMITTED,
                received_at=None if undated else now,
                # Repeated due dates on purpose: the id breaks the tie.
                due_at=None if undated else now + dt.timedelta(hours=(n * 7919) % 500),
                **fields,
            )
        )
    return Dossier.objects.bulk_create(rows)


@pytest.fixture
def many(procedure, citizen_nhung, officer_minh, other_agency):
    agency = procedure.agency
    for state in (S.SUBMITTED, S.SUPPLEMENTED, S.RECEIVED, S.IN_PROCESSING, S.AWAITING_APPROVAL, S.RESULT_READY):
        bulk_dossiers(agency=agency, procedure=procedure, applicant=citizen_nhung, count=1500, state=state)
    bulk_dossiers(
        agency=agency,
        procedure=procedure,
        applicant=citizen_nhung,
        count=3000,
        state=S.IN_PROCESSING,
        assigned_to=officer_minh,
    )
    bulk_dossiers(
        agency=agency,
        procedure=procedure,
        applicant=citizen_nhung,
        count=1500,
        state=S.IN_CONSULTATION,
        consulted_agency=other_agency,
    )
    bulk_dossiers(
        agency=other_agency,
        procedure=procedure,
        applicant=citizen_nhung,
        count=1500,
        state=S.RESULT_READY,
        received_by_agency=agency,
    )
    bulk_dossiers(agency=agency, procedure=procedure, applicant=citizen_nhung, count=8000, state=S.RETURNED)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE procedures_dossier")


UNDATED = {"to_receive"}
INDEX_FOR = {
    "to_receive": "dossier_undated",
    "supplemented": "dossier_queue_due",
    "to_assign": "dossier_queue_due",
    "awaiting_approval": "dossier_queue_due",
    "to_sign": "dossier_queue_due",
    "to_issue": "dossier_queue_due",
    "to_return": "dossier_queue_due|dossier_received_by_due",
    "overdue": "dossier_watch_due",
    "mine": "dossier_officer_due",
    "department": "dossier_queue_due",
    "consultations": "dossier_consulted_due",
    "all": "dossier_agency_due",
}


@pytest.mark.postgres
def test_every_queue_read_uses_its_index_in_order(many, procedure, officer_minh, other_agency):
    if connection.vendor != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    assert set(INDEX_FOR) == set(queues.QUEUES)
    admin = make_staff("admin", procedure.agency, StaffProfile.Role.ADMINISTRATOR, first="An", last="Bùi")
    profiles = {
        "mine": officer_minh.staff_profile,
        "consultations": make_staff("officer-c", other_agency, StaffProfile.Role.PROCESSING_OFFICER).staff_profile,
    }
    after_dated = queues.Cursor(timezone.now() + dt.timedelta(hours=250), 10**9)
    after_undated = queues.Cursor(None, 1)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    for key, queue in queues.QUEUES.items():
        profile = profiles.get(key, admin.staff_profile)
        # (The administrator's view also lists the few dossiers consulted or received elsewhere: its
        # main branch, the agency's own, is the one that must be fast.)
        for branch in queue.branches(profile)[:1] if key == "all" else queue.branches(profile):
            base = queues._filtered(Dossier.objects.filter(branch), queues.QueueFilters())
            # The read that carries the queue: undated rows (not yet received) or dated ones.
            for after in (None, after_undated) if key in UNDATED else (None, after_dated):
                dated, undated = queues.branch_querysets(base, after, 51)
                plan = undated[:51].explain() if key in UNDATED else dated.explain()
                assert re.search(INDEX_FOR[key], plan), (key, plan)
                # Single-branch queues over one state read the index in order: no sort of the rows.
                if key not in ("all", "overdue"):
                    assert "Sort" not in plan, (key, plan)
                assert "Seq Scan" not in plan, (key, plan)
            # The tab count reads at most COUNT_CAP + 1 index entries, unsorted.
            plan = queues.count_queryset(branch, queues.QueueFilters(), queues.COUNT_CAP + 1).explain()
            assert "Sort" not in plan and "Seq Scan" not in plan, (key, plan)


@pytest.mark.postgres
def test_the_name_search_uses_the_trigram_index(many, procedure, citizen_nhung):
    if connection.vendor != "postgresql":
        pytest.skip("pg_trgm is PostgreSQL's")
    [rare] = bulk_dossiers(agency=procedure.agency, procedure=procedure, applicant=citizen_nhung, count=1)
    Dossier.objects.filter(pk=rare.pk).update(applicant_name="Hồ Thị Lựu", applicant_name_search="ho thi luu")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    qs = queues._filtered(Dossier.objects.filter(agency=procedure.agency), queues.QueueFilters(q="Lựu")).values_list(
        "id", flat=True
    )
    assert "procedures_dossier_name_trgm" in qs.explain()
    assert list(qs) == [rare.pk]
