"""T31 outbox atomicity under crash: a process killed (SIGKILL) just before or just after COMMIT.

A private PostgreSQL cluster (tests/stack.py), never the shared one. A driver process receives a
submitted dossier through procedures.lifecycle.dossier_transition, which writes the dossier's new
state, its event, the audit record and the outbox row in one transaction; a hook on the connection's
commit kills the driver with SIGKILL:

- before COMMIT: all the statements of the transaction were sent, COMMIT never was. Afterwards the
  dossier is unchanged and neither the event nor the outbox row exists.
- after COMMIT: the commit returned, the after-commit kick never ran (no Celery task was queued).
  Afterwards the event and the outbox row both exist, and the sweeper of a new process publishes the
  message to the national-portal simulator (delivered_at set).

Then the invariant over the whole database: every status event of a coded dossier has its outbox row,
and every outbox row is delivered.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from integrations.national_portal.simulator import start as start_simulator
from tests.stack import ROOT, PrivateStack, missing_binaries, private_stack

pytestmark = pytest.mark.postgres

DRIVER = r"""
import json, os, signal, sys
sys.path.insert(0, os.environ["PORTAL_ROOT"])
import django
django.setup()
from django.db import connection

mode = sys.argv[1]
if mode == "setup":
    from procedures.models import Agency, Procedure, StaffProfile
    from procedures.services import ApplicantData, dossier_submit
    from procedures.uploads import check_upload
    from tests.conftest import make_citizen, make_staff, pdf_upload

    agency = Agency.objects.create(code="G18.001.02", name="Cục Quản lý Y, Dược cổ truyền", is_illustrative=True)
    procedure = Procedure.objects.create(
        code="QT.YDCT.11", name="Xét tặng giải thưởng", sector="Y, Dược cổ truyền", sector_code="G18-YDCT",
        agency=agency, time_limit_days=150, is_published=True,
    )
    clerk = make_staff("clerk", agency, StaffProfile.Role.RECEPTION_CLERK)
    citizen = make_citizen("nhung", full_name="Nguyễn Thị Hồng Nhung", national_id="001195012345")
    ids = []
    for _ in range(int(sys.argv[2])):
        dossier = dossier_submit(
            procedure=procedure, applicant_user=citizen,
            applicant=ApplicantData(name="Nguyễn Thị Hồng Nhung", national_id="001195012345",
                                    address="Số 1 Phố Huế, Hà Nội", phone="0912345678", email="nhung@example.vn"),
            request_summary="Đề nghị", upload=check_upload(pdf_upload()), document_title="Đơn đề nghị",
        )
        ids.append(dossier.pk)
    print(json.dumps({"clerk": clerk.pk, "dossiers": ids}))
elif mode == "transition":
    from django.contrib.auth import get_user_model
    from procedures.lifecycle import dossier_transition

    dossier_id, clerk_id, action, crash = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    clerk = get_user_model().objects.get(pk=clerk_id)
    connection.ensure_connection()
    commit = connection._commit

    def hooked_commit():
        # The first commit after arming is the transition's (its atomic block is the outermost).
        if crash == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        commit()
        if crash == "after":
            os.kill(os.getpid(), signal.SIGKILL)

    connection._commit = hooked_commit
    dossier = dossier_transition(dossier_id=dossier_id, action=action, actor=clerk)
    print(json.dumps({"state": dossier.state, "code": dossier.code}))
elif mode == "sweep":
    from integrations.outbox import outbox_sweep

    print(json.dumps({"queued": outbox_sweep(limit=100)}))
"""

# Every status event of a dossier that has a code must have its outbox row (the event id is in the key).
EVENTS_WITHOUT_OUTBOX = """
select e.id, e.kind, d.code from procedures_dossierevent e join procedures_dossier d on d.id = e.dossier_id
where coalesce(d.code, '') <> '' and e.kind <> 'submitted' and not exists (
  select 1 from integrations_outboxmessage o
  where o.idempotency_key = 'national_portal.dossier:' || d.code || ':event-' || e.id)
"""


def run_driver(stack: PrivateStack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(stack.base / "driver.py"), *args],
        cwd=ROOT,
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def dossier_row(stack: PrivateStack, dossier_id: int) -> tuple:
    return stack.query("select state, code from procedures_dossier where id = %s", (dossier_id,))[0]


def events_of(stack: PrivateStack, dossier_id: int) -> list[str]:
    return [k for (k,) in stack.query("select kind from procedures_dossierevent where dossier_id = %s", (dossier_id,))]


def outbox_rows(stack: PrivateStack) -> list[tuple]:
    return stack.query("select key, state, delivered_at is not null from integrations_outboxmessage order by id")


def test_a_crash_before_commit_leaves_nothing_and_after_commit_leaves_event_and_outbox_row_that_the_sweeper_sends():
    if missing := missing_binaries():
        pytest.fail(missing)
    simulator, url = start_simulator(port=0)
    try:
        with private_stack("outbox-crash-") as stack:
            # given: a private cluster, migrated, with three submitted dossiers and a reception clerk
            stack.extra_env = {
                "CELERY_TASK_ALWAYS_EAGER": "true",  # a kick delivers inline: no worker, no broker
                "CELERY_BROKER_URL": "memory://",
                "NATIONAL_PORTAL_URL": url,
                "NATIONAL_PORTAL_USERNAME": simulator.state.username,
                "NATIONAL_PORTAL_PASSWORD": simulator.state.password,
                "HTTP_RETRIES": "0",
            }
            stack.init_postgres()
            stack.migrate()
            (stack.base / "driver.py").write_text(DRIVER)
            setup = run_driver(stack, "setup", "3")
            assert setup.returncode == 0, setup.stderr[-3000:]
            made = json.loads(setup.stdout.strip().splitlines()[-1])
            clerk, (killed_before, killed_after, normal) = str(made["clerk"]), made["dossiers"]

            # when: the driver is killed just before COMMIT of the receipt
            before = run_driver(stack, "transition", str(killed_before), clerk, "receive", "before")
            # then: nothing of the transition exists
            assert before.returncode == -signal.SIGKILL, before.stderr[-3000:]
            assert dossier_row(stack, killed_before) == ("submitted", None)
            assert events_of(stack, killed_before) == ["submitted"]
            assert outbox_rows(stack) == []

            # when: the driver is killed just after COMMIT (the after-commit kick never runs)
            after = run_driver(stack, "transition", str(killed_after), clerk, "receive", "after")
            # then: the state, the event and the outbox row are all there, not yet sent
            assert after.returncode == -signal.SIGKILL, after.stderr[-3000:]
            state, code = dossier_row(stack, killed_after)
            assert state == "received" and code
            assert sorted(events_of(stack, killed_after)) == ["received", "submitted"]
            assert outbox_rows(stack) == [(code, "pending", False)]
            assert not simulator.state.requests

            # and: a normal receipt alongside (delivered by its own after-commit kick)
            done = run_driver(stack, "transition", str(normal), clerk, "receive", "none")
            assert done.returncode == 0, done.stderr[-3000:]
            normal_code = json.loads(done.stdout.strip().splitlines()[-1])["code"]

            # when: a new process runs the sweeper (as beat does after a restart)
            sweep = run_driver(stack, "sweep")
            assert sweep.returncode == 0, sweep.stderr[-3000:]

            # then: the message of the crashed process is delivered, and the invariant holds everywhere
            assert sorted(outbox_rows(stack)) == sorted([(code, "delivered", True), (normal_code, "delivered", True)])
            received = {
                record["MaHoSo"]
                for request in simulator.state.requests
                if isinstance(request["body"], dict)
                for record in request["body"].get("data") or []
            }
            assert received == {code, normal_code}
            assert stack.query(EVENTS_WITHOUT_OUTBOX) == []
            assert stack.query("select count(*) from integrations_outboxmessage where delivered_at is null") == [(0,)]
    finally:
        simulator.stop()
