from __future__ import annotations

import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from portal.audit import audit_chain_verify, audit_record
from portal.models import AuditRecord

pytestmark = pytest.mark.django_db


def write(n: int) -> list[AuditRecord]:
    with transaction.atomic():
        return [audit_record(action="test.action", object_type="x", object_id=str(i), data={"i": i}) for i in range(n)]


def test_records_chain_to_their_predecessor_and_verify():
    records = write(3)
    assert records[1].prev_hash == records[0].hash
    assert records[2].prev_hash == records[1].hash
    report = audit_chain_verify()
    assert report.ok
    assert report.checked == 3
    call_command("audit_verify")


@pytest.mark.django_db(transaction=True)
def test_audit_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        audit_record(action="test.action")


def test_a_record_rolled_back_with_its_action_leaves_no_trace():
    def action_that_fails_after_auditing():
        with transaction.atomic():
            audit_record(action="test.rolled_back")
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        action_that_fails_after_auditing()
    assert not AuditRecord.objects.filter(action="test.rolled_back").exists()
    assert audit_chain_verify().ok


def test_the_database_refuses_to_change_audit_records():
    record = write(1)[0]
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditRecord.objects.filter(pk=record.pk).update(reason="tampered")
    assert AuditRecord.objects.get(pk=record.pk).reason == ""


def test_postgresql_refuses_to_delete_audit_records_even_for_the_table_owner():
    if connection.vendor != "postgresql":
        pytest.skip("the DELETE guard is PostgreSQL's (SQLite test databases are flushed with DELETE)")
    record = write(1)[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        (is_superuser,) = cursor.fetchone()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditRecord.objects.filter(pk=record.pk).delete()
    assert AuditRecord.objects.filter(pk=record.pk).exists()
    if os.environ.get("CI") == "true":
        assert not is_superuser, "CI must connect as a role that is not a superuser"


def test_tampering_is_found_and_the_first_broken_link_reported():
    records = write(4)
    # Drop the append-only guard as a database owner could, tamper, and check that verify notices.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending deferred checks
            cursor.execute("ALTER TABLE portal_auditrecord DISABLE TRIGGER portal_auditrecord_append_only")
        else:
            cursor.execute("DROP TRIGGER portal_auditrecord_no_update")
        cursor.execute("UPDATE portal_auditrecord SET reason = 'tampered' WHERE id = %s", [records[2].pk])
    report = audit_chain_verify()
    assert not report.ok
    assert report.first_broken_id == records[2].pk
    assert report.checked == 2
    with pytest.raises(CommandError, match=f"record {records[2].pk}"):
        call_command("audit_verify")


def test_a_lost_chain_head_is_restored_from_the_last_record_not_from_genesis():
    from portal.models import AuditChainHead

    first = write(2)
    AuditChainHead.objects.all().delete()
    later = write(1)[0]
    assert later.prev_hash == first[-1].hash
    assert audit_chain_verify().ok
