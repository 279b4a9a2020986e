"""T08 and T19 over the API: schemathesis against /api/schema/, in-process, as every kind of caller.

Every operation of the OpenAPI schema is generated from (positive and negative data, hypothesis
under fixed settings) and each generated request is sent as each caller: anonymous, citizen A and
citizen B, an organisation, the reception clerks of agency A and agency B, the systems of facility A
and facility B (API keys), a population-gateway client (API key) and the national portal (HMAC-signed
requests: the signing is done here, on the exact bytes sent). Checks on every response:

- ``not_a_server_error`` (no 5xx, whoever calls, whatever the data);
- ``ignored_auth`` on every 2xx of an authenticated caller: the same request without credentials and
  with made-up ones must be refused (401/403);
- object-level authorization: seeded objects of citizen A, agency A and facility A (dossier reference,
  dossier id, health-document id, their numbers and personal data) never appear in an answer to
  citizen B, the organisation, the clerk of agency B or facility B, and A's objects asked by id answer
  404 to them;
- coverage: an operation that never answered 2xx to the caller allowed to use it fails the test (a run
  that only ever saw 401/404 proved nothing).

The run is bounded by ``API_FUZZ_EXAMPLES`` examples per operation and data mode (default 8, about two
minutes on two cores); ``make soak`` raises it. Hypothesis is derandomized so that CI runs are repeatable;
soak runs set ``API_FUZZ_SEED`` to explore other data.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import ignored_auth

from integrations.national_portal.inbound_signing import signed_headers
from tests.conftest import MINIMAL_PDF, make_citizen, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "8"))
SEED = os.environ.get("API_FUZZ_SEED", "")
INBOUND_SECRET = "fuzz-inbound-secret-0123456789"
INBOUND_SENDER = "DVCQG"
JSON = "application/json"


@dataclass
class Caller:
    name: str
    headers: dict[str, str] = field(default_factory=dict)
    signs: bool = False  # the national portal: HMAC over the exact body
    foreign: bool = False  # must never see A's objects

    def send(self, case: schemathesis.Case, checks: list, **kwargs: Any) -> Any:
        if self.name != "anonymous":
            # Generated credentials (a random session cookie or token) stay only on anonymous requests, which must
            # be refused with them; the others carry just their own, so ignored_auth sees them as explicit.
            if case.cookies:
                case.cookies.pop("sessionid", None)
            if case.headers:
                for name in [k for k in case.headers if k.lower() == "authorization"]:
                    del case.headers[name]
        headers = dict(self.headers)
        raw = _json_bytes(case) if self.signs else None
        if raw is not None:  # the national portal signs JSON; elsewhere it has no credentials to offer
            headers.update(
                signed_headers(
                    secret=INBOUND_SECRET, sender=INBOUND_SENDER, method=case.method, path=case.formatted_path, body=raw
                )
            )
            kwargs["data"] = raw
        return case.call_and_validate(headers=headers or None, checks=checks, **kwargs)


def _json_bytes(case: schemathesis.Case) -> bytes | None:
    if case.body is NOT_SET:
        return b""
    if case.media_type is not None and "json" not in case.media_type:
        return None
    try:
        return json.dumps(case.body, ensure_ascii=False).encode()
    except (TypeError, ValueError):
        return None


@dataclass
class World:
    """The seeded objects of A (what B must never reach) and the callers."""

    callers: dict[str, Caller]
    secrets: list[str]  # strings of A's objects that no foreign caller may receive
    path_parameters: dict[str, dict[str, Any]]  # operation label -> A's path parameters
    public_path_parameters: dict[str, dict[str, Any]]  # operation label -> path parameters of public objects
    good_cases: dict[str, tuple[str, Callable[[Any], schemathesis.Case]]]  # label -> (caller, case factory)
    allowed: dict[str, str]  # operation label -> the caller that must reach 2xx


def _token(user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=user).key


@pytest.fixture
def world(db, settings, tmp_path, population_registry_simulator, gateway_client_factory) -> World:
    from django.core.cache import cache

    from citizens.models import OrganisationProfile
    from facilities.models import Facility, FacilityCredential
    from facilities.services import Issuer, birth_certificates_issue
    from facilities.signing import facility_demo_key_create
    from places.services import admin_units_load
    from portal.crypto import pii_hash
    from procedures.models import Agency, Procedure, StaffProfile
    from procedures.services import ApplicantData, dossier_submit
    from procedures.uploads import check_upload
    from tests.conftest import pdf_upload
    from tests.facilities.conftest import birth_data, child

    cache.clear()
    settings.NATIONAL_PORTAL_INBOUND_SENDER = INBOUND_SENDER
    settings.NATIONAL_PORTAL_INBOUND_SECRETS = [INBOUND_SECRET]
    settings.INTERLINKING_URL = "http://127.0.0.1:9"
    settings.INTERLINKING_RETRIES = 0

    agency_a = Agency.objects.create(code="G18.001.02", name="Cục Quản lý Y, Dược cổ truyền", is_illustrative=True)
    agency_b = Agency.objects.create(code="G18.002.01", name="Cục Quản lý Dược", is_illustrative=True)
    procedure = Procedure.objects.create(
        code="QT.YDCT.11",
        name="Xét tặng giải thưởng Hải Thượng Lãn Ông",
        sector="Y, Dược cổ truyền",
        sector_code="G18-YDCT",
        agency=agency_a,
        time_limit_days=150,
        is_published=True,
    )
    citizen_a = make_citizen("vneid-a", full_name="Nguyễn Thị Hồng Nhung", national_id="001195012345")
    citizen_b = make_citizen("vneid-b", full_name="Trần Văn Hoàng", national_id="079088001234")
    from django.contrib.auth import get_user_model

    organisation = get_user_model().objects.create_user(username="vneid-org")
    OrganisationProfile.objects.create(
        user=organisation,
        vneid_subject="sub-org",
        tax_code="0109998877",
        name="Công ty Minh họa",
        representative_name="Đỗ Mạnh Hùng",
        representative_national_id="001080001111",
        representative_national_id_hash=pii_hash("001080001111"),
        assurance_level="2",
    )
    clerk_a = make_staff("clerk-a", agency_a, StaffProfile.Role.RECEPTION_CLERK)
    clerk_b = make_staff("clerk-b", agency_b, StaffProfile.Role.RECEPTION_CLERK, first="Bình", last="Vũ")

    def submit() -> Any:
        return dossier_submit(
            procedure=procedure,
            applicant_user=citizen_a,
            applicant=ApplicantData(
                name="Nguyễn Thị Hồng Nhung",
                national_id="001195012345",
                address="Số 1 Phố Huế, Phường Hai Bà Trưng, Hà Nội",
                phone="0912345678",
                email="nhung@example.vn",
            ),
            request_summary="Đề nghị xét tặng giải thưởng",
            upload=check_upload(pdf_upload()),
            document_title="Đơn đề nghị",
        )

    dossier_a = submit()
    to_receive = submit()

    admin_units_load()
    facility_a = Facility.objects.create(code="99001", name="Bệnh viện Phụ sản Minh họa", province_code="01")
    facility_b = Facility.objects.create(code="99002", name="Phòng khám Minh họa", kind="clinic")
    for f in (facility_a, facility_b):
        facility_demo_key_create(facility=f, directory=tmp_path)
    credential_a, key_a = FacilityCredential.issue(facility=facility_a, label="HIS A")
    _credential_b, key_b = FacilityCredential.issue(facility=facility_b, label="HIS B")
    (document_a,) = birth_certificates_issue(
        issuer=Issuer(facility=facility_a, credential=credential_a),
        data=birth_data(),
        children=[child()],
    )
    (document_reissue,) = birth_certificates_issue(
        issuer=Issuer(facility=facility_a, credential=credential_a), data=birth_data(), children=[child()]
    )
    _gw, gateway_key = gateway_client_factory("tiem-chung", rate="100000/min", daily_quota=1_000_000)

    callers = {
        "anonymous": Caller("anonymous"),
        "citizen_a": Caller("citizen_a", {"Authorization": f"Token {_token(citizen_a)}"}),
        "citizen_b": Caller("citizen_b", {"Authorization": f"Token {_token(citizen_b)}"}, foreign=True),
        "organisation": Caller("organisation", {"Authorization": f"Token {_token(organisation)}"}, foreign=True),
        "clerk_a": Caller("clerk_a", {"Authorization": f"Token {_token(clerk_a)}"}),
        "clerk_b": Caller("clerk_b", {"Authorization": f"Token {_token(clerk_b)}"}, foreign=True),
        "facility_a": Caller("facility_a", {"Authorization": f"Api-Key {key_a}"}),
        "facility_b": Caller("facility_b", {"Authorization": f"Api-Key {key_b}"}, foreign=True),
        "gateway": Caller("gateway", {"Authorization": f"Api-Key {gateway_key}"}),
        "national_portal": Caller("national_portal", signs=True),
    }
    secrets = [dossier_a.reference, dossier_a.code or dossier_a.reference, "001195012345", document_a.number]
    doc = {"id": document_a.pk}
    path_parameters = {
        "GET /api/v1/dossiers/{reference}/": {"reference": dossier_a.reference},
        "POST /api/v1/staff/dossiers/{id}/receive/": {"id": dossier_a.pk},
        "GET /api/v1/facilities/documents/{id}/": doc,
        "GET /api/v1/facilities/documents/{id}/pdf/": doc,
        "POST /api/v1/facilities/documents/{id}/reissue/": doc,
    }
    public_path_parameters = {"GET /api/v1/procedures/{code}/": {"code": procedure.code}}
    person = population_registry_simulator.living()
    caller_fields = {"purpose": "Tiêm chủng", "acting_user": "bs.lan", "dossier_code": "TC-1"}
    person_name = " ".join(p for p in (person.family_name, person.middle_name, person.given_name) if p)
    good_cases = {
        "POST /api/v1/dossiers/": (
            "citizen_a",
            # The multipart body with a real PDF is built by werkzeug (schemathesis sends bytes without a file name).
            lambda op: (
                op.Case(),
                {
                    "data": {
                        "procedure": str(procedure.pk),
                        "address": "Số 1 Phố Huế",
                        "phone": "0912345678",
                        "request_summary": "Đề nghị",
                        "document": (io.BytesIO(MINIMAL_PDF), "don.pdf", "application/pdf"),
                    }
                },
            ),
        ),
        "POST /api/v1/staff/dossiers/{id}/receive/": (
            "clerk_a",
            lambda op: op.Case(path_parameters={"id": to_receive.pk}),
        ),
        "POST /api/v1/facilities/birth-certificates/": (
            "facility_a",
            lambda op: op.Case(media_type=JSON, body={"form": "01", "data": birth_data(), "children": [child()]}),
        ),
        "POST /api/v1/facilities/death-notices/": (
            "facility_a",
            lambda op: op.Case(media_type=JSON, body={"data": _death_data()}),
        ),
        "POST /api/v1/facilities/documents/{id}/reissue/": (
            "facility_a",
            lambda op: op.Case(
                path_parameters={"id": document_reissue.pk},
                media_type=JSON,
                body={"reason": "loss", "note": "Gia đình làm mất"},
            ),
        ),
        "POST /api/v1/population/lookup/": (
            "gateway",
            lambda op: op.Case(media_type=JSON, body={**caller_fields, "personal_id": person.personal_id}),
        ),
        "POST /api/v1/population/verify/": (
            "gateway",
            lambda op: op.Case(
                media_type=JSON,
                body={
                    **caller_fields,
                    "personal_id": person.personal_id,
                    "full_name": person_name,
                    "birth_date": person.birth_date,
                },
            ),
        ),
        "POST /api/v1/population/verify-bulk/": (
            "gateway",
            lambda op: op.Case(
                media_type=JSON,
                body={
                    **caller_fields,
                    "records": [
                        {"personal_id": person.personal_id, "full_name": person_name, "birth_date": person.birth_date}
                    ],
                },
            ),
        ),
        "POST /api/v1/national-portal/dossiers/": (
            "national_portal",
            lambda op: op.Case(media_type=JSON, body=_national_dossier(procedure)),
        ),
        "POST /api/v1/national-portal/ratings/": (
            "national_portal",
            lambda op: op.Case(
                media_type=JSON,
                body={
                    "MaHoSoQuocGia": "DVCQG-FUZZ-1",
                    "MaDoiTuong": "079088001234",
                    "MucDoHaiLong": 3,
                    "NgayDanhGia": "20260316093000",
                },
            ),
        ),
    }
    allowed = {
        "GET /api/v1/procedures/": "anonymous",
        "GET /api/v1/procedures/{code}/": "anonymous",
        "GET /api/v1/dossiers/": "citizen_a",
        "POST /api/v1/dossiers/": "citizen_a",
        "GET /api/v1/dossiers/{reference}/": "citizen_a",
        "POST /api/v1/staff/dossiers/{id}/receive/": "clerk_a",
        "GET /api/v1/facilities/documents/": "facility_a",
        "GET /api/v1/facilities/documents/{id}/": "facility_a",
        "GET /api/v1/facilities/documents/{id}/pdf/": "facility_a",
        "POST /api/v1/facilities/documents/{id}/reissue/": "facility_a",
        "POST /api/v1/facilities/birth-certificates/": "facility_a",
        "POST /api/v1/facilities/death-notices/": "facility_a",
        "GET /api/v1/facilities/reports/": "facility_a",
        "GET /api/v1/facilities/rules/": "anonymous",
        "GET /api/v1/facilities/standards/": "anonymous",
        "POST /api/v1/population/lookup/": "gateway",
        "POST /api/v1/population/verify/": "gateway",
        "POST /api/v1/population/verify-bulk/": "gateway",
        "POST /api/v1/national-portal/dossiers/": "national_portal",
        "POST /api/v1/national-portal/ratings/": "national_portal",
    }
    return World(callers, secrets, path_parameters, public_path_parameters, good_cases, allowed)


def _death_data() -> dict[str, Any]:
    from tests.facilities.conftest import death_data

    return death_data()


def _national_dossier(procedure) -> dict[str, Any]:
    return {
        "MaHoSoQuocGia": "DVCQG-FUZZ-1",
        "MaTTHC": procedure.code,
        "MaDonVi": procedure.agency.code,
        "ChuHoSo": "Trần Văn Hoàng",
        "MaDoiTuong": "079088001234",
        "NgaySinh": "19880412",
        "DiaChi": "Số 5 Lê Lợi",
        "SoDienThoai": "0912345678",
        "TrichYeuHoSo": "Đề nghị",
        "NgayNop": "20260315093000",
    }


def _failure_text(exc: BaseException) -> str:
    if isinstance(exc, FailureGroup):
        return "; ".join(f"{f.title}: {f.message}" for f in exc.exceptions)
    return str(exc)


def _case_and_kwargs(made: Any) -> tuple[schemathesis.Case, dict[str, Any]]:
    return made if isinstance(made, tuple) else (made, {})


@pytest.fixture
def in_process_app():
    """The portal's WSGI application with connections kept open, as Django's test client does."""
    from django.core.wsgi import get_wsgi_application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_every_api_operation_as_every_caller_gives_no_5xx_no_ignored_auth_and_no_foreign_object(
    world, in_process_app, request
):
    from django.core.cache import cache

    schema = schemathesis.openapi.from_wsgi("/api/schema/", in_process_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    statuses: dict[tuple[str, str], set[int]] = defaultdict(set)
    failures: list[str] = []
    sent = 0
    no_negative: list[str] = []
    secret_re = re.compile("|".join(re.escape(s) for s in world.secrets))

    def send(caller: Caller, case: schemathesis.Case, **kwargs: Any) -> Any:
        nonlocal sent
        # ignored_auth re-sends the request without credentials; a request with a file stream (kwargs) cannot be
        # re-sent, so those valid requests are sent to anonymous separately (below).
        authenticated = (caller.headers or caller.signs) and not kwargs
        checks = [not_a_server_error] + ([ignored_auth] if authenticated else [])
        try:
            response = caller.send(case, checks, **kwargs)
        except (AssertionError, FailureGroup) as exc:  # schemathesis' failure report
            failures.append(f"{caller.name}: {_failure_text(exc)[:1500]}")
            return None
        finally:
            sent += 1
        label = case.operation.label
        statuses[(label, caller.name)].add(response.status_code)
        if caller.foreign and secret_re.search(response.content.decode("utf-8", "replace")):
            failures.append(f"{caller.name} received an object of A from {label}: {response.status_code}")
        if (
            caller.foreign
            and label in world.path_parameters
            and case.path_parameters == world.path_parameters[label]
            and response.status_code not in (401, 403, 404)
        ):
            failures.append(f"{caller.name} reached A's object at {label}: {response.status_code}")
        return response

    for operation in operations:
        label = operation.label
        fixed = world.path_parameters.get(label) or world.public_path_parameters.get(label)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed if mode.is_positive else None)

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=not SEED,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case: schemathesis.Case) -> None:
                cache.clear()  # the API throttles (decision 0063) are tested on their own; here they would only cut
                for caller in world.callers.values():
                    send(caller, case)

            if SEED:
                run = seed(int(SEED))(run)
            try:
                run()
            except Unsatisfiable:  # nothing in this operation can be made invalid (no parameters, no body)
                assert not mode.is_positive, label
                no_negative.append(label)
        if label in world.good_cases:
            caller_name, factory = world.good_cases[label]
            case, kwargs = _case_and_kwargs(factory(operation))
            response = send(world.callers[caller_name], case, **kwargs)
            if response is not None and not 200 <= response.status_code < 300:
                failures.append(f"the valid request of {label} failed: {response.status_code} {response.text[:500]}")
            for caller in world.callers.values():
                if caller.foreign or caller.name == "anonymous":
                    case, kwargs = _case_and_kwargs(factory(operation))
                    response = send(caller, case, **kwargs)
                    if caller.name == "anonymous" and response is not None and response.status_code not in (401, 403):
                        failures.append(
                            f"{label} answered {response.status_code} to a valid request without credentials"
                        )

    # Visible in CI without -s: this is the suite's slowest security test (about a minute on two cores).
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(
                f"\nschemathesis: {len(operations)} operations x {len(world.callers)} callers, {sent} requests "
                f"(API_FUZZ_EXAMPLES={EXAMPLES} per operation and data mode; make soak runs 50)"
            )
    print(f"\n{len(operations)} operations x {len(world.callers)} callers, {sent} requests")
    print(f"  no negative data possible: {no_negative}")
    for (label, caller), seen in sorted(statuses.items()):
        print(f"  {label:55} {caller:16} {sorted(seen)}")
    assert {op.label for op in operations} == set(world.allowed), "an operation has no allowed caller here"
    never = [
        f"{label} as {caller}: {sorted(statuses[(label, caller)])}"
        for label, caller in world.allowed.items()
        if not any(200 <= s < 300 for s in statuses[(label, caller)])
    ]
    assert not failures, "\n\n".join(failures[:20])
    assert not never, "operations that never answered 2xx to their caller:\n" + "\n".join(never)
