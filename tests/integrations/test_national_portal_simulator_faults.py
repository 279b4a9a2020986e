"""The DVCQG simulator's fault modes and its state per dossier, seen through the real client."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from integrations.national_portal import get_national_portal
from integrations.national_portal.base import NationalPortalError, ProgressRecord
from integrations.national_portal.http import HttpNationalPortal
from integrations.national_portal.payload import dossier_record_from_payload
from tests.fixtures.national_portal import DOSSIER_CODE, dossier_payload


@pytest.fixture(autouse=True)
def _no_http_level_retries(settings):
    settings.HTTP_RETRIES = 0


def step(status: int, hour: int) -> ProgressRecord:
    at = datetime(2026, 3, 15, hour, 0, tzinfo=UTC)
    return ProgressRecord(
        dossier_code=DOSSIER_CODE,
        actor_name="Trần Thị Bình",
        actor_title="",
        acted_at=at,
        department="",
        note="",
        status=status,
        step_started_at=at,
        step_due_at=None,
    )


def create(portal) -> None:
    portal.sync_dossiers([dossier_record_from_payload(dossier_payload())])


def test_the_state_follows_the_latest_step_and_counts_moves_backwards(national_portal_simulator):
    portal = get_national_portal()
    create(portal)
    portal.push_progress([step(2, 2)])
    portal.push_progress([step(4, 5)])
    assert national_portal_simulator.state()[DOSSIER_CODE] == {
        "status": "4",
        "changed_at": "20260315120000",
        "backwards": 0,
        "writes": 2,
        "dossier_status": "2",
    }
    # an older step arriving late: last write wins, and the move backwards is counted
    portal.push_progress([step(2, 2)])
    assert national_portal_simulator.state()[DOSSIER_CODE]["status"] == "2"
    assert national_portal_simulator.state()[DOSSIER_CODE]["backwards"] == 1
    # the same step again is not a move backwards
    portal.push_progress([step(2, 2)])
    assert national_portal_simulator.state()[DOSSIER_CODE]["backwards"] == 1


def test_tracuuhoso_answers_from_the_state(national_portal_simulator):
    portal = get_national_portal()
    assert portal.lookup(DOSSIER_CODE) is None
    create(portal)
    portal.push_progress([step(4, 5)])
    found = portal.lookup(DOSSIER_CODE)
    assert (found["TrangThaiHienTai"], found["ThoiDiemCapNhat"], found["SoLanLui"]) == ("4", "20260315120000", 0)
    assert found["TrangThaiHoSo"] == "2"
    assert [s["TrangThai"] for s in found["TienDoXuLy"]] == ["4"]


def test_accept_and_lose_answers_success_but_keeps_nothing(national_portal_simulator):
    portal = get_national_portal()
    national_portal_simulator.faults(accept_and_lose_next=1, service="DongBoHoSoMC")
    create(portal)  # no error
    assert portal.lookup(DOSSIER_CODE) is None
    assert len(national_portal_simulator.requests("DongBoHoSoMC")) == 1  # the raw request is still kept


def test_accept_twice_applies_and_logs_the_request_twice(national_portal_simulator):
    portal = get_national_portal()
    create(portal)
    national_portal_simulator.faults(accept_twice_next=1, service="CapNhatTienDoHoSoMC")
    portal.push_progress([step(4, 5)])
    first, second = national_portal_simulator.requests("CapNhatTienDoHoSoMC")
    assert first["body"] == second["body"]
    assert second["injected_duplicate"] is True
    assert "injected_duplicate" not in first
    assert national_portal_simulator.state()[DOSSIER_CODE]["writes"] == 2
    assert national_portal_simulator.state()[DOSSIER_CODE]["backwards"] == 0


def test_a_hang_longer_than_the_client_timeout_is_a_transient_error_but_the_portal_did_the_work(
    national_portal_simulator, settings
):
    portal = HttpNationalPortal(
        url=national_portal_simulator.url,
        auth_path="/auth",
        integration_path="/integration",
        username=settings.NATIONAL_PORTAL_USERNAME,
        password=settings.NATIONAL_PORTAL_PASSWORD,
        agency_code="000.00.00.G18",
        timeout=0.2,
        retries=0,
    )
    national_portal_simulator.faults(timeout_next=1, timeout_ms=600, service="DongBoHoSoMC")
    with pytest.raises(NationalPortalError) as caught:
        create(portal)
    assert caught.value.permanent is False
    assert "timed out" in str(caught.value)
    # the portal finished the request after the client gave up (bounded polling of the server thread)
    state = national_portal_simulator.server.state
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with state.lock:
            if DOSSIER_CODE in state.dossiers:
                break
        time.sleep(0.05)
    assert DOSSIER_CODE in state.dossiers


def test_a_slow_answer_within_the_timeout_succeeds(national_portal_simulator):
    national_portal_simulator.faults(slow_next=1, slow_ms=50)
    portal = get_national_portal()
    create(portal)
    assert portal.lookup(DOSSIER_CODE)["MaHoSo"] == DOSSIER_CODE


def test_clear_removes_the_counted_faults(national_portal_simulator):
    national_portal_simulator.faults(accept_and_lose_next=5)
    national_portal_simulator.faults(clear=True)
    portal = get_national_portal()
    create(portal)
    assert portal.lookup(DOSSIER_CODE) is not None
