"""The real DVCQG client against the simulator, over HTTP; the payload mapping; the simulator's rules."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from unittest.mock import patch

import pytest

from integrations.national_portal import get_national_portal
from integrations.national_portal.base import NationalPortalError, UnknownDossierError
from integrations.national_portal.http import HttpNationalPortal
from integrations.national_portal.payload import (
    dossier_record_from_payload,
    dossier_record_to_wire,
    format_portal_datetime,
    progress_record_from_payload,
    progress_record_to_wire,
)
from tests.fixtures.national_portal import DOSSIER_CODE, dossier_payload


def make_client(sim, **options) -> HttpNationalPortal:
    return HttpNationalPortal(
        url=sim.url,
        auth_path="/auth",
        integration_path="/integration",
        username=sim.server.state.username,
        password=sim.server.state.password,
        agency_code="000.00.00.G18",
        **{"retries": 0, **options},
    )


def services(sim) -> list[str]:
    return [r["service"] for r in sim.requests()]


# --- the client over HTTP ------------------------------------------------------------------------


def test_client_logs_in_once_and_reuses_the_session(national_portal_simulator):
    # given
    client = make_client(national_portal_simulator)
    dossier = dossier_record_from_payload(dossier_payload())
    # when
    client.sync_dossiers([dossier])
    client.push_progress([progress_record_from_payload(dossier_payload())])
    # then
    assert services(national_portal_simulator) == ["auth", "DongBoHoSoMC", "CapNhatTienDoHoSoMC"]
    auth, sync, progress = national_portal_simulator.requests()
    assert auth["body"] == {"username": "mot-cua-byt", "password": "simulator-password"}
    assert sync["body"]["session"] == progress["body"]["session"]
    assert sync["body"]["madonvi"] == "000.00.00.G18"
    assert sync["body"]["isUpdating"] == "False"


def test_client_logs_in_again_when_the_portal_expires_the_session(national_portal_simulator):
    # given
    client = make_client(national_portal_simulator)
    client.sync_dossiers([dossier_record_from_payload(dossier_payload())])
    national_portal_simulator.faults(expire_sessions=True)
    # when
    client.sync_dossiers([dossier_record_from_payload(dossier_payload(status=4))], is_updating=True)
    # then
    assert services(national_portal_simulator) == ["auth", "DongBoHoSoMC", "DongBoHoSoMC", "auth", "DongBoHoSoMC"]
    first, refused, repeated = national_portal_simulator.requests("DongBoHoSoMC")
    assert refused["body"]["session"] == first["body"]["session"]
    assert repeated["body"]["session"] != refused["body"]["session"]
    assert client.lookup(DOSSIER_CODE)["TrangThaiHoSo"] == "4"


def test_dongbohosomc_is_accepted_and_lookup_returns_the_latest_state(national_portal_simulator):
    # given
    client = make_client(national_portal_simulator)
    payload = dossier_payload(status=4, changed_at="2026-03-16T09:00:00+07:00")
    # when
    client.sync_dossiers([dossier_record_from_payload(dossier_payload())])
    client.sync_dossiers([dossier_record_from_payload(payload)], is_updating=True)
    client.push_progress([progress_record_from_payload(payload)])
    found = client.lookup(DOSSIER_CODE)
    # then
    assert found["MaHoSo"] == DOSSIER_CODE
    assert found["TrangThaiHoSo"] == "4"
    assert found["NgayTiepNhan"] == "20260315093000"  # 02:30 UTC is 09:30 in Hà Nội
    assert found["NgayHenTra"] == "20260410100000"
    assert found["TienDoXuLy"][0]["ThoiDiemXuLy"] == "20260316090000"
    assert [r["body"]["isUpdating"] for r in national_portal_simulator.requests("DongBoHoSoMC")] == ["False", "True"]


def test_lookup_of_an_unknown_dossier_returns_none(national_portal_simulator):
    assert make_client(national_portal_simulator).lookup("G18.001.02-260315-189999") is None


def test_a_malformed_record_is_rejected_as_a_permanent_error(national_portal_simulator):
    # given
    client = make_client(national_portal_simulator)
    record = dossier_record_from_payload(dossier_payload(dossier_code="not-a-dossier-code"))
    # when
    with pytest.raises(NationalPortalError) as caught:
        client.sync_dossiers([record])
    # then
    assert caught.value.permanent is True
    assert "MaHoSo" in str(caught.value)
    assert make_client(national_portal_simulator).lookup("not-a-dossier-code") is None


def test_an_update_of_a_dossier_the_portal_does_not_know_is_a_permanent_error(national_portal_simulator):
    client = make_client(national_portal_simulator)
    with pytest.raises(UnknownDossierError) as caught:
        client.sync_dossiers([dossier_record_from_payload(dossier_payload())], is_updating=True)
    assert caught.value.permanent is True


def test_http_503_is_a_transient_error(national_portal_simulator):
    # given
    client = make_client(national_portal_simulator)
    client.lookup(DOSSIER_CODE)  # logged in
    national_portal_simulator.faults(fail_next=1, status=503)
    # when
    with pytest.raises(NationalPortalError) as caught:
        client.sync_dossiers([dossier_record_from_payload(dossier_payload())])
    # then
    assert caught.value.permanent is False
    assert "503" in str(caught.value)


def test_a_portal_side_error_code_is_a_transient_error(national_portal_simulator):
    client = make_client(national_portal_simulator)
    national_portal_simulator.faults(fail_next=1, status=200, error_code="99", service="DongBoHoSoMC")
    with pytest.raises(NationalPortalError) as caught:
        client.sync_dossiers([dossier_record_from_payload(dossier_payload())])
    assert caught.value.permanent is False


def test_a_timeout_is_a_transient_error(national_portal_simulator):
    # given: the portal answers later than the client waits
    client = make_client(national_portal_simulator, timeout=0.2)
    national_portal_simulator.faults(delay_ms=2000)
    # when
    with pytest.raises(NationalPortalError) as caught:
        client.lookup(DOSSIER_CODE)
    # then
    assert caught.value.permanent is False
    assert "timed out" in str(caught.value)


def test_the_shared_helper_rides_over_one_503(national_portal_simulator):
    # given
    client = make_client(national_portal_simulator, retries=1)
    national_portal_simulator.faults(fail_next=1, status=503, service="DongBoHoSoMC")
    # when: the helper's backoff pause is skipped, the retry itself is real
    with patch("integrations.http.time.sleep", autospec=True):
        client.sync_dossiers([dossier_record_from_payload(dossier_payload())])
    # then
    assert services(national_portal_simulator) == ["auth", "DongBoHoSoMC", "DongBoHoSoMC"]
    assert client.lookup(DOSSIER_CODE) is not None


def test_a_refused_login_is_reported_without_the_password(national_portal_simulator):
    client = make_client(national_portal_simulator)
    client.password = "wrong-password"
    with pytest.raises(NationalPortalError) as caught:
        client.lookup(DOSSIER_CODE)
    assert caught.value.permanent is False  # fixed by configuration, then the message goes out
    assert "wrong-password" not in str(caught.value)


def test_get_national_portal_returns_the_http_client_pointed_at_the_settings(national_portal_simulator):
    client = get_national_portal()
    assert isinstance(client, HttpNationalPortal)
    assert client.auth_url == f"{national_portal_simulator.url}/auth"
    assert get_national_portal() is client  # the session is kept between calls


# --- the neutral payload -> DVCQG records --------------------------------------------------------


def test_dates_are_sent_as_yyyymmddhhmmss_in_ho_chi_minh_time():
    assert format_portal_datetime(datetime(2026, 12, 31, 20, 5, 9, tzinfo=UTC)) == "20270101030509"
    assert format_portal_datetime(None) == ""


def test_the_dongbohosomc_record_is_built_from_the_neutral_payload():
    wire = dossier_record_to_wire(dossier_record_from_payload(dossier_payload(applicant_kind="organisation")))
    assert wire == {
        "MaHoSo": DOSSIER_CODE,
        "MaTTHC": "1.012327",
        "TenTTHC": "Thừa nhận tiêu chuẩn quản lý chất lượng cơ sở KCB",
        "MaLinhVuc": "G18-YT-KCB",
        "TenLinhVuc": "Khám bệnh, chữa bệnh",
        "ChuHoSo": "Nguyễn Văn An",
        "LoaiDoiTuong": "2",
        "MaDoiTuong": "001095012345",
        "Email": "an@example.test",
        "SoDienThoai": "0912345678",
        "TrichYeuHoSo": "Đề nghị thừa nhận tiêu chuẩn quản lý chất lượng",
        "NgayTiepNhan": "20260315093000",
        "NgayHenTra": "20260410100000",
        "NgayTra": "",
        "TrangThaiHoSo": "2",
        "DonViXuLy": "Cục Quản lý Khám, chữa bệnh",
    }


def test_the_progress_record_falls_back_to_the_agency_when_the_system_acted():
    payload = dossier_payload(actor_name="", step_due_at="2026-03-17T17:00:00+07:00")
    wire = progress_record_to_wire(progress_record_from_payload(payload))
    assert wire == {
        "MaHoSo": DOSSIER_CODE,
        "NguoiXuLy": "Cục Quản lý Khám, chữa bệnh",
        "ChucDanh": "Chuyên viên",
        "ThoiDiemXuLy": "20260315093000",
        "PhongBanXuLy": "Bộ phận Một cửa",
        "NoiDungXuLy": "Tiếp nhận hồ sơ",
        "TrangThai": "2",
        "NgayBatDau": "20260315093000",
        "NgayKetThucTheoQuyDinh": "20260317170000",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("procedure_code", None),
        ("status", 11),
        ("status", "4"),
        ("applicant_kind", "household"),
        ("received_at", "2026-03-15T09:30:00"),  # no offset
        ("received_at", "15/03/2026"),
    ],
)
def test_a_malformed_neutral_payload_is_a_permanent_error(field, value):
    with pytest.raises(NationalPortalError) as caught:
        dossier_record_from_payload(dossier_payload(**{field: value}))
    assert caught.value.permanent is True
    assert field in str(caught.value)


# --- the simulator's own rules -------------------------------------------------------------------


def post_integration(sim, client: HttpNationalPortal, body: dict) -> dict:
    session = client._current_session()
    request = urllib.request.Request(
        sim.url + "/integration",
        data=json.dumps({"session": session, "madonvi": "000.00.00.G18", **body}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"TrangThaiHoSo": "11"}, "TrangThaiHoSo must be 1..10"),
        ({"TrangThaiHoSo": 0}, "TrangThaiHoSo must be 1..10"),
        ({"NgayTiepNhan": "202603150930"}, "NgayTiepNhan must be yyyyMMddHHmmss"),
        ({"NgayHenTra": "20260231093000"}, "NgayHenTra must be yyyyMMddHHmmss"),  # 31 February
        ({"MaHoSo": "G18.001.02-260315-18004"}, "does not match the dossier code format"),
        ({"ChuHoSo": ""}, "ChuHoSo is required"),
        ({"ChuHoSo": 12}, "ChuHoSo must be a string"),
    ],
)
def test_the_simulator_rejects_malformed_records(national_portal_simulator, change, complaint):
    client = make_client(national_portal_simulator)
    record = {**dossier_record_to_wire(dossier_record_from_payload(dossier_payload())), **change}
    answer = post_integration(
        national_portal_simulator, client, {"service": "DongBoHoSoMC", "isUpdating": "False", "data": [record]}
    )
    assert answer["error_code"] == "01"
    assert complaint in answer["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"service": "DongBoHoSoMC", "isUpdating": "true", "data": [{}]},
        {"service": "DongBoHoSoMC", "isUpdating": "False", "data": []},
        {"service": "CapNhatTienDoHoSoMC", "data": [{"MaHoSo": DOSSIER_CODE}]},
        {"service": "TraCuuHoSo"},
    ],
)
def test_the_simulator_rejects_malformed_envelopes(national_portal_simulator, body):
    answer = post_integration(national_portal_simulator, make_client(national_portal_simulator), body)
    assert answer["error_code"] == "01"


def test_the_simulator_keeps_every_request_and_forgets_them_on_reset(national_portal_simulator):
    # given: the same creation sent twice
    client = make_client(national_portal_simulator)
    record = dossier_record_from_payload(dossier_payload())
    client.sync_dossiers([record])
    client.sync_dossiers([record])
    # then: both are kept as received
    first, second = national_portal_simulator.requests("DongBoHoSoMC")
    assert first["body"] == second["body"]
    # when
    national_portal_simulator.reset()
    # then
    assert national_portal_simulator.requests() == []
    assert client.lookup(DOSSIER_CODE) is None  # the old session died with the reset; a new one was made


def test_the_simulator_answers_its_health_check(national_portal_simulator):
    with urllib.request.urlopen(national_portal_simulator.url + "/healthz", timeout=10) as response:
        assert json.loads(response.read())["status"] == "ok"


def test_the_simulator_refuses_an_unknown_path(national_portal_simulator):
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(national_portal_simulator.url + "/nowhere", timeout=10)
    assert caught.value.code == 404
