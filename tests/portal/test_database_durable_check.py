"""Deploy check portal.E019: PostgreSQL must run with fsync, synchronous_commit, full_page_writes on (T36)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from portal.checks import database_durable

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres(db):
    if connection.vendor != "postgresql":
        pytest.skip("the check reads PostgreSQL settings")  # CI runs on PostgreSQL (where a skip fails the run)


def test_the_suites_postgresql_is_durable_and_the_check_runs_with_deploy_and_database(postgres):
    assert database_durable(None, databases=["default"]) == []
    call_command("check", "--deploy", "--database", "default", "--tag", "database", "--fail-level", "ERROR")


def test_a_database_with_synchronous_commit_off_fails_the_check(postgres):
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")  # this session only
    try:
        errors = database_durable(None, databases=["default"])
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")

    assert [(e.id, "synchronous_commit=off" in e.msg) for e in errors] == [("portal.E019", True)]


def test_without_the_database_option_the_check_does_nothing(postgres):
    assert database_durable(None, databases=None) == []
