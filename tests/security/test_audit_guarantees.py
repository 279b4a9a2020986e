"""T27 append-only audit store for the application's role; T29 an audit write that fails fails the action."""

from __future__ import annotations

import os

import pytest
from django.db import DatabaseError, connection, transaction

from integrations.models import OutboxMessage
from portal.audit import audit_record
from portal.errors import ApplicationError
from portal.models import AuditRecord
from procedures.lifecycle import dossier_transition
from procedures.models import Dossier, DossierEvent, DossierStep

pytestmark = pytest.mark.django_db


def current_role() -> tuple[str, bool | None]:
    if connection.vendor != "postgresql":
        return "sqlite", None
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        return cursor.fetchone()


def raw(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def audit_row():
    with transaction.atomic():
        return audit_record(action="test.append_only", object_type="x", object_id="1")


@pytest.fixture
def event_row(received_dossier):
    return DossierEvent.objects.filter(dossier=received_dossier).order_by("id").first()


def test_the_application_role_cannot_update_or_delete_audit_records(audit_row):
    role, is_superuser = current_role()
    if os.environ.get("CI") == "true":
        assert connection.vendor == "postgresql" and is_superuser is False, (role, is_superuser)

    with pytest.raises(DatabaseError):
        raw("UPDATE portal_auditrecord SET reason = %s WHERE id = %s", ["tampered", audit_row.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditRecord.objects.filter(pk=audit_row.pk).update(action="tampered")
    if connection.vendor == "postgresql":  # SQLite test databases are flushed with DELETE: guard is UPDATE only
        with pytest.raises(DatabaseError, match="append-only"):
            raw("DELETE FROM portal_auditrecord WHERE id = %s", [audit_row.pk])
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditRecord.objects.filter(pk=audit_row.pk).delete()
    stored = AuditRecord.objects.get(pk=audit_row.pk)
    assert (stored.action, stored.reason) == ("test.append_only", "")


def test_the_application_role_cannot_update_or_delete_dossier_events(event_row):
    with pytest.raises(DatabaseError):
        raw("UPDATE procedures_dossierevent SET reason = %s WHERE id = %s", ["tampered", event_row.pk])
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError, match="append-only"):
            raw("DELETE FROM procedures_dossierevent WHERE id = %s", [event_row.pk])
    stored = DossierEvent.objects.get(pk=event_row.pk)
    assert stored.reason == event_row.reason


def test_a_failing_audit_write_rolls_the_transition_back(received_dossier, leader_hai, officer_minh, monkeypatch):
    before = Dossier.objects.get(pk=received_dossier.pk)
    counts = (
        DossierEvent.objects.count(),
        DossierStep.objects.count(),
        OutboxMessage.objects.count(),
        AuditRecord.objects.count(),
    )

    def audit_down(**kwargs):
        raise DatabaseError("audit store unavailable")

    monkeypatch.setattr("procedures.lifecycle.audit_record", audit_down)
    with pytest.raises(DatabaseError):
        dossier_transition(dossier_id=received_dossier.pk, action="assign", actor=leader_hai, officer=officer_minh.pk)

    after = Dossier.objects.get(pk=received_dossier.pk)
    assert (after.state, after.assigned_to_id) == (
        before.state,
        before.assigned_to_id,
    )
    assert (
        DossierEvent.objects.count(),
        DossierStep.objects.count(),
        OutboxMessage.objects.count(),
        AuditRecord.objects.count(),
    ) == counts

    # With the audit store back, the same transition goes through: the failure was the audit, not the rule.
    monkeypatch.undo()
    moved = dossier_transition(
        dossier_id=received_dossier.pk, action="assign", actor=leader_hai, officer=officer_minh.pk
    )
    assert moved.state == Dossier.State.IN_PROCESSING
    assert AuditRecord.objects.filter(action="dossier.assign", object_id=str(received_dossier.pk)).exists()


def test_a_transition_refused_by_a_rule_writes_no_audit(received_dossier, citizen_nhung):
    count = AuditRecord.objects.count()
    with pytest.raises(ApplicationError):
        dossier_transition(dossier_id=received_dossier.pk, action="approve", actor=citizen_nhung)
    assert AuditRecord.objects.count() == count
