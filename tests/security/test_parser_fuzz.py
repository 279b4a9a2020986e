"""T19: the parsers of everything that comes from outside, fuzzed with hypothesis (bounded).

Each parser may refuse its input only with its documented error; any other exception (a KeyError, an
OverflowError, a database error on an over-long value) would be a 500 or a dead task in production.
Targets: the population database's XML answers (integrations/population_registry/wire.py), the citizen-ID
validator, the national portal's inbound JSON (serializers and the signed endpoint), the payment
callback (parser and service, correctly signed so that the fuzz reaches past the signature), VNeID
claims, the reconciliation CSV/XLSX import and the catalogue import.

``PARSER_FUZZ_EXAMPLES`` sets the examples per target (default 200; ``make soak`` raises it). Runs are
derandomized in CI so that a failure reproduces; soak runs set ``PARSER_FUZZ_SEED`` to explore.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, assume, given, seed, settings
from hypothesis import strategies as st

from citizens.validators import validate_personal_id
from integrations.population_registry import wire
from integrations.population_registry.base import CitizenRecord

EXAMPLES = int(os.environ.get("PARSER_FUZZ_EXAMPLES", "200"))
SEED = os.environ.get("PARSER_FUZZ_SEED", "")


def fuzz(examples: int = EXAMPLES):
    """Hypothesis settings of this module: bounded, no deadline (2-core CI machines), repeatable in CI."""

    def wrap(test):
        test = settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=not SEED,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )(test)
        return seed(int(SEED))(test) if SEED else test

    return wrap


# JSON values of any shape, with the awkward numbers (huge, negative, floats) and texts.
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text(max_size=80)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)


def with_keys(keys: list[str], value=json_values):
    """Objects that mostly use the expected field names (so the fuzz gets past 'unknown field')."""
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), value, max_size=len(keys) + 2)


# --- population database: XML answers --------------------------------------------------------------

RECORD = CitizenRecord(
    personal_id="001195012345",
    old_id="012345678",
    family_name="Nguyễn",
    middle_name="Thị Hồng",
    given_name="Nhung",
    birth_date="1995-03-14",
    sex="Nữ",
    residence="Số 1 Phố Huế, Hà Nội",
    deceased=False,
    data_time="20261120101500",
)
VALID_ANSWERS = [
    wire.collection_response([RECORD], request_id="r-1", data_time="20261120101500"),
    wire.collection_response([], request_id="r-2", data_time="20261120101500"),
    wire.exists_response(True),
    wire.fault_response("soap:Server", "Lỗi hệ thống"),
    wire.lookup_request(
        request_id="r-3", service_code="DVC", integration_code="IC", unit_code="U", official="o", personal_id="0"
    ),
]
HOSTILE_PREFIXES = [
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
    b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd">',
    b'<?xml version="1.0" encoding="UTF-16"?>',
    b'<?xml version="1.0" encoding="ISO-8859-1"?>',
    b"\xff\xfe",
    b"\xef\xbb\xbf",
]


@st.composite
def mutated_answers(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(VALID_ANSWERS)))
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "prefix", "tag"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[position] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[position : position + draw(st.integers(1, 40))]
        elif kind == "insert":
            data[position:position] = draw(st.binary(max_size=20))
        elif kind == "prefix":
            data[0:0] = draw(st.sampled_from(HOSTILE_PREFIXES))
        else:
            text = draw(st.text(alphabet=st.characters(codec="utf-8"), max_size=20)).encode()
            data[position:position] = b"<" + text + b">"
    return bytes(data)


@fuzz()
@given(data=st.binary(max_size=400) | mutated_answers())
def test_population_answers_are_parsed_or_refused_with_wire_error(data):
    for parse in (wire.parse_collection, wire.parse_exists, wire.parse_request):
        with contextlib.suppress(wire.WireError):
            parse(data)


@fuzz()
@given(value=st.text(max_size=20))
def test_population_birth_dates_are_parsed_or_refused_with_wire_error(value):
    try:
        iso = wire.parse_birth_date(value)
    except wire.WireError:
        return
    assert len(iso) in (4, 7, 10)


@fuzz()
@given(value=st.text(max_size=20) | st.from_regex(r"\A[0-9]{12}\Z"), birth=st.none() | st.dates())
def test_personal_id_validator_raises_only_validation_error(value, birth):
    try:
        info = validate_personal_id(value, birth_date=birth)
    except ValidationError:
        return
    assert info.sex


# --- VNeID claims ----------------------------------------------------------------------------------

CLAIM_NAMES = [
    "sub",
    "name",
    "given_name",
    "family_name",
    "birthdate",
    "national_id",
    "so_dinh_danh",
    "acr",
    "assurance_level",
    "account_type",
    "tax_code",
    "organisation_name",
]


@pytest.fixture
def vneid_claim_names(settings) -> list[str]:
    return sorted(
        {
            *CLAIM_NAMES,
            settings.VNEID_SUBJECT_CLAIM,
            settings.VNEID_ASSURANCE_CLAIM,
            settings.VNEID_NATIONAL_ID_CLAIM,
            settings.VNEID_NAME_CLAIM,
            settings.VNEID_BIRTHDATE_CLAIM,
            settings.VNEID_ACCOUNT_TYPE_CLAIM,
            settings.VNEID_TAX_CODE_CLAIM,
            settings.VNEID_ORGANISATION_NAME_CLAIM,
        }
    )


@fuzz()
@given(data=st.data())
def test_vneid_claims_are_accepted_or_refused_with_vneid_login_refused(vneid_claim_names, data):
    from citizens.adapters import vneid_claims_merge
    from citizens.services import VneidLoginRefused, organisation_identity_parse, vneid_identity_parse

    claim_value = (
        json_scalars | st.from_regex(r"\A[0-9]{1,12}\Z") | st.sampled_from(["2", "3", "²", "١", "organisation"])
    )
    claims = data.draw(with_keys(vneid_claim_names, claim_value))
    extra = data.draw(
        st.just(claims)
        | st.fixed_dictionaries({"userinfo": st.just(claims), "id_token": with_keys(vneid_claim_names, claim_value)})
        | st.fixed_dictionaries({"userinfo": json_values, "id_token": json_values})
    )
    try:
        merged = vneid_claims_merge(extra)
        vneid_identity_parse(claims=merged)
        organisation_identity_parse(claims=merged)
    except VneidLoginRefused:
        pass


# --- payment callback --------------------------------------------------------------------------------

CALLBACK_KEYS = ["event_id", "order_id", "status", "amount", "transaction_id", "timestamp", "nonce", "reason"]


def _signed(settings, body: bytes) -> str:
    return hmac.new(settings.PAYMENT_CALLBACK_SECRET.encode(), body, hashlib.sha256).hexdigest()


NOW = "<now>"  # replaced by the current time when the body is encoded (the strategy must not read the clock)


@st.composite
def callback_bodies(draw) -> Any:
    """A callback value (encoded by `encoded`), or raw bytes."""
    shaped = st.fixed_dictionaries(
        {
            "event_id": json_scalars,
            "order_id": json_scalars | st.just("DH-000001"),
            "status": st.sampled_from(["paid", "failed"]) | json_scalars,
            "amount": json_scalars | st.just(150000) | st.just(float("inf")) | st.just(10**400),
            "timestamp": st.just(NOW) | json_scalars,
            "nonce": st.text(min_size=1, max_size=200) | json_scalars,
        },
        optional={"transaction_id": json_scalars, "reason": json_scalars},
    )
    return draw(shaped | with_keys(CALLBACK_KEYS) | json_values | st.binary(max_size=200))


def encoded(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, dict) and value.get("timestamp") == NOW:
        value = {**value, "timestamp": int(time.time())}
    try:
        return json.dumps(value, ensure_ascii=False).encode()
    except (OverflowError, ValueError):  # 10**400 cannot be written by json.dumps as a float would
        return json.dumps({**value, "amount": "1e400"}).encode().replace(b'"1e400"', b"1e400")


@pytest.fixture
def payment_settings(settings):
    settings.PAYMENT_CALLBACK_SECRET = "fuzz-callback-secret"
    return settings


@fuzz()
@given(body=callback_bodies())
def test_payment_callbacks_parse_or_raise_value_error(payment_settings, body):
    from integrations.payment.http import HttpPaymentProvider

    body = encoded(body)
    try:
        callback = HttpPaymentProvider().callback_parse(body=body, signature=_signed(payment_settings, body))
    except ValueError:
        return
    assert isinstance(callback.amount_vnd, int) and len(callback.nonce) <= 64


@pytest.mark.django_db
@fuzz(max(EXAMPLES // 2, 20))
@given(body=callback_bodies())
def test_signed_payment_callbacks_answer_200_or_400_never_500(client, payment_settings, body):
    body = encoded(body)
    response = client.post(
        "/me/payments/callback/",
        data=body,
        content_type="application/json",
        HTTP_X_SIGNATURE=_signed(payment_settings, body),
    )
    assert response.status_code in (200, 400), response.content[:300]


# --- national portal inbound JSON ----------------------------------------------------------------------

DOSSIER_KEYS = [
    "MaHoSoQuocGia",
    "MaTTHC",
    "MaDonVi",
    "ChuHoSo",
    "MaDoiTuong",
    "NgaySinh",
    "DiaChi",
    "SoDienThoai",
    "Email",
    "TrichYeuHoSo",
    "NgayNop",
    "TaiLieuNop",
]
RATING_KEYS = ["MaHoSoQuocGia", "MaHoSo", "MaDoiTuong", "MucDoHaiLong", "NoiDung", "NgayDanhGia"]
ATTACHMENT_KEYS = ["TenTepDinhKem", "DuongDanTaiTepTin", "MaThanhPhanHoSo", "HashTepTin"]
inbound_text = (
    json_scalars
    | st.from_regex(r"\A[0-9]{8,14}\Z")
    | st.sampled_from(["001195012345", "079088001234", "20260315093000", "99991231235959", "20260230000000"])
)
attachments = st.lists(with_keys(ATTACHMENT_KEYS, inbound_text) | json_values, max_size=3)


@pytest.mark.django_db
@fuzz()
@given(
    dossier=with_keys(DOSSIER_KEYS, inbound_text | attachments) | json_values,
    rating=with_keys(RATING_KEYS, inbound_text) | json_values,
)
def test_national_portal_inbound_json_is_valid_or_names_its_errors(dossier, rating):
    from procedures.api_national import NationalDossierInput, NationalRatingInput

    for serializer in (NationalDossierInput(data=dossier), NationalRatingInput(data=rating)):
        if not serializer.is_valid():
            assert serializer.errors


@pytest.mark.django_db
@fuzz(max(EXAMPLES // 4, 20))
@given(
    path=st.sampled_from(["/api/v1/national-portal/dossiers/", "/api/v1/national-portal/ratings/"]),
    body=with_keys(DOSSIER_KEYS + RATING_KEYS, inbound_text | attachments) | json_values,
    raw=st.none() | st.binary(max_size=100),
)
def test_signed_national_portal_requests_answer_without_server_error(settings, path, body, raw):
    from rest_framework.test import APIClient

    from integrations.national_portal.inbound_signing import signed_headers

    settings.NATIONAL_PORTAL_INBOUND_SENDER = "DVCQG"
    settings.NATIONAL_PORTAL_INBOUND_SECRETS = ["fuzz-inbound-secret"]
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    headers = signed_headers(secret="fuzz-inbound-secret", sender="DVCQG", method="POST", path=path, body=data)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "Content-Type"}
    response = APIClient().post(path, data=data, content_type="application/json", **extra)
    assert response.status_code in (200, 201, 400, 404, 413), response.content[:300]


# --- reconciliation CSV/XLSX and catalogue imports -------------------------------------------------------

CSV_HEADER = "so_dinh_danh,ho_ten,ngay_sinh,co_so,ma\n"


@st.composite
def csv_files(draw) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    cell = st.text(max_size=30) | st.from_regex(r"\A[0-9]{9,12}\Z") | st.just('"') | st.just("x" * 140_000)
    rows = draw(st.lists(st.lists(cell, max_size=6), max_size=6))
    delimiter = draw(st.sampled_from([",", ";"]))
    body = "\n".join(delimiter.join(r) for r in rows)
    header = draw(st.sampled_from([CSV_HEADER, CSV_HEADER.replace(",", ";"), "", "\ufeff" + CSV_HEADER]))
    return (header + body).encode(draw(st.sampled_from(["utf-8", "utf-16", "cp1258"])), errors="replace")


@fuzz()
@given(content=csv_files(), name=st.sampled_from(["list.csv", "list.txt", "list.xlsx", "list.pdf"]))
def test_reconciliation_imports_read_or_raise_import_problem(content, name):
    from integrations.reconciliation import ImportProblem, iter_records

    try:
        for record in iter_records(io.BytesIO(content), name=name):
            assert len(record.personal_id) <= 40 and len(record.full_name) <= 200
    except ImportProblem:
        pass


@pytest.mark.django_db
@fuzz(max(EXAMPLES // 2, 20))
@given(
    content=st.binary(max_size=200)
    | st.lists(with_keys(["code", "name", "agency", "stages", "fees", "documents", "form_schema"]), max_size=3).map(
        lambda rows: json.dumps(rows).encode()
    ),
    name=st.sampled_from(["catalogue.json", "catalogue.xlsx", "catalogue.csv"]),
)
def test_catalogue_imports_report_errors_and_never_raise(content, name):
    from procedures.catalogue_io import catalogue_import

    assume(len(content) < 10_000)
    report = catalogue_import(content=content, filename=name)
    assert report.errors or report.rows >= 0
