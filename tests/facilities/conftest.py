"""Fixtures of the facilities tests: places, a facility with its own key, members, the simulator."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from integrations.interlinking.simulator import InterlinkingSimulator, start
from tests.conftest import totp_enrol

MOTHER_ID = "001195012345"  # the VNeID simulator's Nguyễn Thị Hồng Nhung (synthetic)
MOTHER_NAME = "Nguyễn Thị Hồng Nhung"
MOTHER_BIRTH = "1995-03-14"


def birth_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "mother_name": MOTHER_NAME,
        "mother_birth_date": MOTHER_BIRTH,
        "mother_personal_id": MOTHER_ID,
        "mother_address": "Số 1 Phố Huế",
        "mother_province_code": "01",
        "mother_commune_code": "00004",
        "father_name": "Trần Văn Nam",
        "children_count": 1,
        "delivery_number": 1,
        "living_children": 1,
        "birth_place": "Bệnh viện Phụ sản Minh họa, Hà Nội",
        "birth_attendant": "Lê Thị Đỡ",
        "recorder": "Phạm Văn Ghi",
        "head_name": "Nguyễn Văn Trưởng",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def child(**overrides: Any) -> dict[str, Any]:
    data = {
        "child_sex": "2",
        "child_weight_g": 3100,
        "birth_at": "2026-11-20T08:15",
        "child_condition": "Khỏe mạnh",
    }
    data.update(overrides)
    return data


def death_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "deceased_name": "Trần Văn Ông",
        "deceased_birth_date": "1940",
        "deceased_sex": "1",
        "deceased_ethnicity": "Kinh",
        "deceased_nationality": "Việt Nam",
        "deceased_address": "Số 2 Phố Huế",
        "deceased_province_code": "01",
        "deceased_commune_code": "00004",
        "admitted_at": "2026-11-19T22:10",
        "died_at": "2026-11-20T03:45",
        "cause_of_death": "Suy hô hấp",
        "next_of_kin_name": MOTHER_NAME,
        "next_of_kin_personal_id": MOTHER_ID,
        "writer_name": "Bác sĩ Hoàng Văn Viết",
        "writer_title": "Bác sĩ điều trị",
        "head_name": "Nguyễn Văn Trưởng",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def pdf_text(data: bytes, tmp_path: Path) -> str:
    if not shutil.which("pdftotext"):
        pytest.fail("pdftotext not installed (apt-get install poppler-utils)")
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True).stdout.decode()


@pytest.fixture
def places_loaded(db):
    from places.services import admin_units_load

    admin_units_load()


@pytest.fixture(scope="session")
def facility_key_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("facility-keys")


@pytest.fixture
def facility(places_loaded, facility_key_dir):
    from facilities.models import Facility
    from facilities.signing import facility_demo_key_create

    facility = Facility.objects.create(
        code="99001", name="Bệnh viện Phụ sản Minh họa", province_code="01", is_illustrative=True
    )
    facility_demo_key_create(facility=facility, directory=facility_key_dir)
    return facility


@pytest.fixture
def other_facility(facility, facility_key_dir):
    from facilities.models import Facility
    from facilities.signing import facility_demo_key_create

    other = Facility.objects.create(code="99002", name="Phòng khám Minh họa", kind="clinic", is_illustrative=True)
    facility_demo_key_create(facility=other, directory=facility_key_dir)
    return other


def _member(username: str, facility, role: str):
    from django.contrib.auth import get_user_model

    from facilities.models import FacilityMembership

    user = get_user_model().objects.create_user(
        username=username, password="demo-password-2026", first_name="Thu", last_name="Nguyễn Thị"
    )
    FacilityMembership.objects.create(user=user, facility=facility, role=role)
    return totp_enrol(user)  # facility members sign in with a password and a TOTP code (security.md T06)


@pytest.fixture
def issuer_user(facility):
    return _member("issuer", facility, "issuer")


@pytest.fixture
def head_user(facility):
    return _member("facility", facility, "head")


@pytest.fixture
def other_member(other_facility):
    return _member("clinic-issuer", other_facility, "issuer")


@pytest.fixture
def issuer(facility, issuer_user):
    from facilities.services import Issuer

    return Issuer(facility=facility, user=issuer_user)


@pytest.fixture
def head(facility, head_user):
    from facilities.services import Issuer

    return Issuer(facility=facility, user=head_user)


@pytest.fixture
def api_key(facility):
    from facilities.models import FacilityCredential

    _credential, key = FacilityCredential.issue(facility=facility, label="HIS")
    return key


@pytest.fixture(autouse=True)
def _population_gateway_offline(settings):
    """Unless a test starts the population simulator, the registry URL points at nothing (unavailable)."""
    from django.core.cache import cache

    from integrations.gateway import gateway_reset

    settings.POPULATION_REGISTRY_URL = "http://127.0.0.1:9"
    settings.POPULATION_REGISTRY_RETRIES = 0
    settings.POPULATION_REGISTRY_TIMEOUT = 1.0
    settings.INTERLINKING_URL = "http://127.0.0.1:9"
    settings.INTERLINKING_RETRIES = 0
    settings.INTERLINKING_TIMEOUT = 2.0
    gateway_reset()
    cache.clear()
    yield
    gateway_reset()


@dataclass
class InterlinkingHandle:
    server: InterlinkingSimulator
    url: str

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def documents(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_sim/documents")

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_sim/requests")

    def faults(self, **spec: Any) -> None:
        self._call("POST", "/_sim/faults", spec)

    def use(self, number: str, reference: str) -> None:
        self._call("POST", "/_sim/use", {"number": number, "registration_reference": reference})


@pytest.fixture
def interlinking_simulator(settings, _population_gateway_offline) -> Iterator[InterlinkingHandle]:
    server, url = start(port=0, token="test-interlinking-token")
    settings.INTERLINKING_URL = url
    settings.INTERLINKING_TOKEN = "test-interlinking-token"
    try:
        yield InterlinkingHandle(server=server, url=url)
    finally:
        server.stop()


def living_mother(handle):
    """A living woman of the simulated population with a full date of birth, born 1975-2005."""
    i = 0
    while True:
        record = handle.person(i)
        if (
            not record.deceased
            and record.sex == "Nữ"
            and len(record.birth_date) == 10
            and 1975 <= int(record.birth_date[:4]) <= 2005
        ):
            return record
        i += 1


def full_name(record) -> str:
    return " ".join(p for p in (record.family_name, record.middle_name, record.given_name) if p)
