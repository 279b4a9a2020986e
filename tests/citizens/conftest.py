"""Fixtures of the applicant portal: the payment simulator, an organisation account, a procedure with a
checklist and fees, and citizens who exist in the simulated population database."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from integrations.payment.simulator import PaymentSimulator, start
from portal.crypto import pii_hash


@dataclass
class PaymentSimulatorHandle:
    server: PaymentSimulator
    url: str

    def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def callbacks(self) -> list[dict]:
        return self._call("GET", "/_sim/callbacks")

    def faults(self, **spec: Any) -> None:
        self._call("POST", "/_sim/faults", spec)


@pytest.fixture
def payment_simulator(settings) -> Iterator[PaymentSimulatorHandle]:
    """The payment simulator on a free port; the portal's adapter and CSP pointed at it."""
    server = start(port=0)
    settings.PAYMENT_URL = server.url
    settings.PAYMENT_API_KEY = server.api_key
    settings.PAYMENT_CALLBACK_SECRET = server.callback_secret
    policy = dict(settings.CONTENT_SECURITY_POLICY)
    directives = dict(policy["DIRECTIVES"])
    directives["form-action"] = [*directives.get("form-action", []), server.url]
    policy["DIRECTIVES"] = directives
    settings.CONTENT_SECURITY_POLICY = policy
    try:
        yield PaymentSimulatorHandle(server=server, url=server.url)
    finally:
        server.stop()


def make_organisation(username: str, *, tax_code: str, name: str, representative: str, national_id: str):
    from django.contrib.auth import get_user_model

    from citizens.models import OrganisationProfile

    user = get_user_model().objects.create_user(username=username, first_name=name[:150])
    user.set_unusable_password()
    user.save()
    OrganisationProfile.objects.create(
        user=user,
        vneid_subject=f"sub-{username}",
        tax_code=tax_code,
        name=name,
        representative_name=representative,
        representative_national_id=national_id,
        representative_national_id_hash=pii_hash(national_id),
        assurance_level="2",
    )
    return user


@pytest.fixture
def organisation_minh_an(db):
    return make_organisation(
        "vneid-org-minhan",
        tax_code="0109998877",
        name="Công ty TNHH Thiết bị Y tế Minh An (demo)",
        representative="Đỗ Mạnh Hùng",
        national_id="001080004455",
    )


@pytest.fixture
def procedure_with_checklist(procedure):
    """The persona procedure with two checklist items (one replaceable by population data) and a fee due at receipt."""
    from procedures.models import ProcedureDocument, ProcedureFee

    ProcedureDocument.objects.create(procedure=procedure, order=1, name="Đơn đề nghị", accepted_types="pdf")
    ProcedureDocument.objects.create(
        procedure=procedure,
        order=2,
        name="Bản sao căn cước",
        accepted_types="pdf,jpg,png",
        replaced_by=ProcedureDocument.ReplacedBy.POPULATION_DB,
    )
    procedure.form_schema = {
        "version": 1,
        "fields": [
            {
                "name": "title",
                "type": "text",
                "label": {"vi": "Danh hiệu đề nghị", "en": "Title proposed"},
                "required": True,
            },
            {
                "name": "years",
                "type": "number",
                "label": {"vi": "Số năm công tác", "en": "Years of service"},
                "validation": {"min": 0, "max": 80},
            },
        ],
    }
    procedure.save()
    ProcedureFee.objects.create(
        procedure=procedure, name="Lệ phí (minh họa)", amount_vnd=150_000, timing=ProcedureFee.Timing.AT_RECEIPT
    )
    return procedure


@pytest.fixture
def population_citizen(population_registry_simulator):
    """A citizen account whose VNeID identity matches a living person of the simulated population."""
    from tests.conftest import make_citizen

    record = population_registry_simulator.living(5)
    user = make_citizen("vneid-pop", full_name=record.full_name, national_id=record.personal_id)
    profile = user.citizen_profile
    import datetime as dt

    profile.birth_date = dt.date.fromisoformat(record.birth_date)
    profile.sex = "F" if record.sex == "Nữ" else "M"
    profile.save()
    user.population_record = record
    return user
