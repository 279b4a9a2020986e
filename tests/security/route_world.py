"""The people and objects the route matrix and the header crawl request pages with (security.md T07, T11, T21).

Every object URL is filled with citizen A's or agency A's objects; every other role asks for them too.
Built once per test module (see ``world`` in the test modules) inside a transaction rolled back at the end.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.test import Client

from portal.crypto import pii_hash
from tests.conftest import MINIMAL_PDF, make_citizen, make_staff, totp_enrol

# Citizen A: every object of the matrix is hers (or her agency's). Her name, ID number and the dossier's
# code must appear in no 403/404 body.
A_NAME = "Nguyễn Thị Hồng Nhung"
A_NATIONAL_ID = "001195012345"
INBOUND_SECRET = "matrix-inbound-secret-0123456789"
INBOUND_SENDER = "DVCQG"


PDF = MINIMAL_PDF  # a well-formed one-page PDF (the upload checks parse it)


def pdf_upload() -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("don-de-nghi.pdf", PDF, content_type="application/pdf")


@dataclass
class Role:
    """One caller of the matrix: a browser session (user) or an API client (headers)."""

    key: str
    label: str
    user: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    api: str = ""  # "gateway", "facility", "national", "token": the kind of API client


@dataclass
class World:
    roles: dict[str, Role]
    objects: dict[str, Any]
    secrets: list[str]  # strings of citizen A that no refusal may show

    def client(self, role_key: str, *, csrf: bool = False) -> Client:
        role = self.roles[role_key]
        client = Client(enforce_csrf_checks=csrf)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        if role.user is not None:
            client.force_login(role.user)
        return client


def _signing_settings(key_dir: Path) -> dict[str, Any]:
    from portal.signing import demo_signing_key_create

    path = key_dir / "agency.p12"
    if not path.exists():
        demo_signing_key_create(path=path, common_name="Cục kiểm thử", organisation="Bộ Y tế", passphrase="ma-tran")
    return {
        "DOCUMENT_SIGNING_BACKEND": "portal.signing.Pkcs12Signer",
        "DOCUMENT_SIGNING_PKCS12_PATH": str(path),
        "DOCUMENT_SIGNING_PKCS12_PASSPHRASE": "ma-tran",
    }


def world_settings(key_dir: Path) -> dict[str, Any]:
    """Settings the world and the requests run under: no network, a signing key, the inbound secret."""
    return {
        **_signing_settings(key_dir),
        "POPULATION_REGISTRY_URL": "http://127.0.0.1:9",
        "POPULATION_REGISTRY_RETRIES": 0,
        "POPULATION_REGISTRY_TIMEOUT": 0.5,
        "INTERLINKING_URL": "http://127.0.0.1:9",
        "INTERLINKING_RETRIES": 0,
        "INTERLINKING_TIMEOUT": 0.5,
        "PAYMENT_URL": "http://127.0.0.1:9",
        "NATIONAL_PORTAL_INBOUND_SENDER": INBOUND_SENDER,
        "NATIONAL_PORTAL_INBOUND_SECRETS": [INBOUND_SECRET],
        "CELERY_TASK_ALWAYS_EAGER": False,  # nothing is queued: on_commit never fires in the rolled-back world
    }


def national_headers(method: str, path: str, body: bytes) -> dict[str, str]:
    """The national portal's signed headers for one request (a fresh nonce each time)."""
    from integrations.national_portal.inbound_signing import signed_headers

    headers = signed_headers(secret=INBOUND_SECRET, sender=INBOUND_SENDER, method=method, path=path, body=body)
    return {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "Content-Type"}


def _places_for_birth_data() -> None:
    """The two units birth_data() names (loading the whole unit list takes seconds)."""
    from places.models import AdministrativeUnit

    generation = AdministrativeUnit.Generation.REFORM_2025
    AdministrativeUnit.objects.create(
        generation=generation, level="province", code="01", name="Thành phố Hà Nội", kind="Thành phố", parent_code=""
    )
    AdministrativeUnit.objects.create(
        generation=generation, level="commune", code="00004", name="Phường Ba Đình", kind="Phường", parent_code="01"
    )


def build_world(key_dir: Path) -> World:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from citizens.applicant import consent_give
    from citizens.apply import draft_start, public_lookup_secret
    from citizens.followup import feedback_send
    from citizens.models import Draft, DraftDocument, OrganisationProfile, Payment
    from facilities.models import Facility, FacilityCredential, FacilityMembership
    from facilities.services import Issuer, birth_certificates_issue
    from facilities.signing import facility_demo_key_create
    from integrations.gateway_models import GatewayClient, ReconciliationJob
    from privacy.services import privacy_request_create
    from procedures.counter import counter_intake_start
    from procedures.documents import dossier_receipt_get_or_render, official_document_get_or_render
    from procedures.models import Agency, OfficialDocument, Procedure, ProcedureDocument, ProcedureFee, StaffProfile
    from procedures.models_exports import ExportJob
    from procedures.services import ApplicantData, dossier_receive, dossier_submit
    from procedures.uploads import check_upload
    from tests.facilities.conftest import birth_data, child

    User = get_user_model()
    R = StaffProfile.Role
    agency_a = Agency.objects.create(code="G18.901.01", name="Cục Ma trận A", is_illustrative=True)
    agency_b = Agency.objects.create(code="G18.902.01", name="Cục Ma trận B", is_illustrative=True)
    procedure = Procedure.objects.create(
        code="QT.MT.01",
        name="Thủ tục ma trận",
        sector="Y, Dược cổ truyền",
        sector_code="G18-YDCT",
        agency=agency_a,
        time_limit_days=15,
        is_published=True,
        result_template=ContentFile(PDF, name="mau-ket-qua.pdf"),
    )
    checklist = ProcedureDocument.objects.create(
        procedure=procedure,
        order=1,
        name="Đơn đề nghị",
        accepted_types="pdf",
        template=ContentFile(PDF, name="mau-don.pdf"),
    )

    citizen_a = make_citizen("m-citizen-a", full_name=A_NAME, national_id=A_NATIONAL_ID)
    citizen_b = make_citizen("m-citizen-b", full_name="Trần Văn Hoàng", national_id="079088001234")
    representative = make_citizen("m-representative", full_name="Phạm Quốc Đại", national_id="036077009911")
    organisation = User.objects.create_user(username="m-organisation", first_name="Công ty Minh An")
    OrganisationProfile.objects.create(
        user=organisation,
        vneid_subject="sub-m-organisation",
        tax_code="0109998877",
        name="Công ty TNHH Thiết bị Y tế Minh An (demo)",
        representative_name="Đỗ Mạnh Hùng",
        representative_national_id="001080004455",
        representative_national_id_hash=pii_hash("001080004455"),
        assurance_level="2",
    )
    clerk_a = make_staff("m-clerk-a", agency_a, R.RECEPTION_CLERK)
    clerk_b = make_staff("m-clerk-b", agency_b, R.RECEPTION_CLERK, first="Bình", last="Vũ")
    officer_a = make_staff("m-officer-a", agency_a, R.PROCESSING_OFFICER, first="Minh", last="Lê Văn")
    officer_b = make_staff("m-officer-b", agency_b, R.PROCESSING_OFFICER, first="Quang", last="Lý")
    leader_a = make_staff("m-leader-a", agency_a, R.LEADER, first="Hải", last="Phạm Văn")
    signer_a = make_staff("m-signer-a", agency_a, R.SIGNING_AUTHORITY, first="Tuấn", last="Đỗ Anh")
    records_a = make_staff("m-records-a", agency_a, R.RECORDS_CLERK, first="Thu", last="Hoàng Thị")
    admin = totp_enrol(User.objects.create_superuser(username="m-admin", password="staff-password-2026", email=""))

    # Citizen A's dossier, received by agency A (it has a code, a receipt and a look-up secret).
    applicant = ApplicantData(
        name=A_NAME,
        national_id=A_NATIONAL_ID,
        address="Số 1 Phố Huế, Hà Nội",
        phone="0912345678",
        email="nhung@example.vn",
    )
    dossier = dossier_submit(
        procedure=procedure,
        applicant_user=citizen_a,
        applicant=applicant,
        request_summary="Đề nghị ma trận",
        upload=check_upload(pdf_upload()),
        document_title="Đơn đề nghị",
    )
    dossier = dossier_receive(dossier_id=dossier.pk, actor=clerk_a)
    receipt = dossier_receipt_get_or_render(dossier_id=dossier.pk)
    official_document_get_or_render(dossier_id=dossier.pk, kind=OfficialDocument.Kind.RECEIPT)
    public_lookup_secret(dossier=dossier)
    # A second dossier of A, still submitted (the legacy receive route and the API receive act on it).
    submitted = dossier_submit(
        procedure=procedure,
        applicant_user=citizen_a,
        applicant=applicant,
        request_summary="Đề nghị thứ hai",
        upload=check_upload(pdf_upload()),
        document_title="Đơn đề nghị",
    )
    # The representative's own dossier, filed on behalf of a principal (not A).
    dossier_submit(
        procedure=procedure,
        applicant_user=representative,
        applicant=ApplicantData(
            name="Phạm Quốc Đại", national_id="036077009911", address="Huế", phone="0988000111", email=""
        ),
        request_summary="Nộp thay",
        upload=check_upload(pdf_upload()),
        document_title="Đơn đề nghị",
    )
    # The fee is added after the dossiers exist (a fee at receipt would hold them before reception).
    ProcedureFee.objects.create(
        procedure=procedure, name="Lệ phí", amount_vnd=150_000, timing=ProcedureFee.Timing.AT_RECEIPT
    )
    payment = Payment.objects.create(
        dossier=dossier,
        order_id="MT-000001",
        amount_vnd=150_000,
        timing="1",
        items=[{"name": "Lệ phí", "amount_vnd": 150_000}],
        status=Payment.Status.PAID,
        receipt_number="BL-0001",
        created_by=citizen_a,
        paid_at=dossier.received_at,
    )
    draft = draft_start(user=citizen_a, procedure=procedure)
    draft_document = DraftDocument.objects.create(
        draft=draft,
        checklist_item=checklist.order,
        title="Đơn đề nghị",
        file=ContentFile(PDF, name="don.pdf"),
        original_name="don.pdf",
        content_type="application/pdf",
        size=len(PDF),
        sha256="0" * 64,
    )
    feedback = feedback_send(
        user=citizen_a, kind="feedback", subject="Hỏi về hồ sơ", body="Nội dung", dossier=dossier, procedure=None
    )
    consent = consent_give(user=citizen_a, ip="203.0.113.9", language="vi")
    privacy_request = privacy_request_create(subject=citizen_a, kind="correction", details="Sửa địa chỉ")

    intake = counter_intake_start(actor=clerk_a)
    book = ExportJob.objects.create(
        agency=agency_a,
        created_by=clerk_a,
        kind=ExportJob.Kind.XLSX,
        date_from=dt.date(2026, 1, 1),
        date_to=dt.date(2026, 1, 31),
        status=ExportJob.Status.DONE,
        file=ContentFile(b"PK\x03\x04 not really a workbook", name="so-theo-doi.xlsx"),
    )
    job = ReconciliationJob.objects.create(
        name="Đối soát ma trận", purpose="Kiểm thử", created_by=admin, status=ReconciliationJob.Status.DONE
    )

    # A health facility with a member and its own system key; its birth certificate names A as the mother.
    _places_for_birth_data()
    facility = Facility.objects.create(code="99901", name="Bệnh viện Ma trận", province_code="01", is_illustrative=True)
    facility_demo_key_create(facility=facility, directory=key_dir)
    other_facility = Facility.objects.create(code="99902", name="Phòng khám Ma trận", kind="clinic")
    # Facility members handle health data: they sign in with a second factor too.
    facility_user = totp_enrol(User.objects.create_user(username="m-facility", password="staff-password-2026"))
    FacilityMembership.objects.create(user=facility_user, facility=facility, role="head")
    facility_b_user = totp_enrol(User.objects.create_user(username="m-facility-b", password="staff-password-2026"))
    FacilityMembership.objects.create(user=facility_b_user, facility=other_facility, role="head")
    (health_document,) = birth_certificates_issue(
        issuer=Issuer(facility=facility, user=facility_user), data=birth_data(), children=[child()]
    )
    _credential, facility_key = FacilityCredential.issue(facility=facility, label="HIS")

    gateway = GatewayClient.objects.create(code="m-his", name="HIS ma trận", scopes=["lookup", "verify"])
    gateway_key = gateway.issue_key()
    token_b = Token.objects.create(user=citizen_b)

    roles = [
        Role("anonymous", "anonymous"),
        Role("citizen_a", "citizen A (owner)", citizen_a),
        Role("citizen_b", "citizen B", citizen_b),
        Role("organisation", "organisation", organisation),
        Role("representative", "authorised representative", representative),
        Role("clerk_a", "reception clerk, agency A", clerk_a),
        Role("clerk_b", "reception clerk, agency B", clerk_b),
        Role("officer_a", "processing officer, agency A", officer_a),
        Role("officer_b", "processing officer, agency B", officer_b),
        Role("leader_a", "leader, agency A", leader_a),
        Role("signer_a", "signing authority, agency A", signer_a),
        Role("records_a", "records clerk, agency A", records_a),
        Role("admin", "administrator (superuser)", admin),
        Role("facility", "health facility member (head)", facility_user),
        Role("facility_b", "member of another facility", facility_b_user),
        Role("gateway", "gateway client (lookup, verify)", headers={"HTTP_AUTHORIZATION": f"Api-Key {gateway_key}"}),
        Role("facility_api", "facility system key", headers={"HTTP_AUTHORIZATION": f"Api-Key {facility_key}"}),
        Role("national", "national portal (signed)", api="national"),
        Role("token_b", "API token of citizen B", headers={"HTTP_AUTHORIZATION": f"Token {token_b.key}"}),
    ]
    for role in roles:
        if role.headers and not role.api:
            role.api = role.key
    objects = {
        "agency_a": agency_a,
        "procedure": procedure,
        "checklist": checklist,
        "dossier": dossier,
        "submitted": submitted,
        "dossier_document": dossier.documents.first(),
        "receipt": receipt,
        "payment": payment,
        "draft": draft,
        "draft_document": draft_document,
        "feedback": feedback,
        "consent": consent,
        "privacy_request": privacy_request,
        "intake": intake,
        "book": book,
        "job": job,
        "facility": facility,
        "health_document": health_document,
        "citizen_a": citizen_a,
        "clerk_a": clerk_a,
    }
    assert Draft.objects.filter(pk=draft.pk).exists()
    secrets = [A_NAME, A_NATIONAL_ID, dossier.code, dossier.reference, "0912345678", "nhung@example.vn"]
    return World(roles={r.key: r for r in roles}, objects=objects, secrets=secrets)


def json_body(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


# --- walking the URL patterns ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern: its full name (namespace:name) or, unnamed, its pattern text."""

    key: str
    pattern: str
    name: str | None


def routes_all() -> list[Route]:
    """Every URL pattern of the project, in resolver order."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found: list[Route] = []

    def walk(resolver, prefix: str, namespace: str | None) -> None:
        for item in resolver.url_patterns:
            if isinstance(item, URLResolver):
                ns = namespace
                if item.namespace:
                    ns = f"{namespace}:{item.namespace}" if namespace else item.namespace
                walk(item, prefix + str(item.pattern), ns)
            elif isinstance(item, URLPattern):
                pattern = prefix + str(item.pattern)
                name = f"{namespace}:{item.name}" if namespace and item.name else item.name
                found.append(Route(key=name or pattern, pattern=pattern, name=name))

    walk(get_resolver(), "", None)
    return found


# --- one request, isolated -----------------------------------------------------------------------------

CSRF_SECRET = "m" * 32  # a fixed CSRF secret: the cookie and the header carry it (Django accepts the bare secret)
WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([A-Za-z0-9_]+)"?', re.IGNORECASE)


@dataclass
class Outcome:
    status: int
    location: str
    content_type: str
    body: bytes
    headers: dict[str, str]
    writes: list[str]  # tables written during the request (GET: checked against the allowed list)


class WriteRecorder:
    """A connection.execute_wrapper that notes the table of every INSERT/UPDATE/DELETE."""

    def __init__(self) -> None:
        self.tables: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        match = WRITE.match(sql)
        if match:
            self.tables.append(match.group(2).lower())
        return execute(sql, params, many, context)


def perform(
    world: World,
    clients: dict[tuple[str, bool], Client],
    role_key: str,
    method: str,
    url: str,
    *,
    api: bool,
    csrf_token: bool = True,
    extra: dict[str, str] | None = None,
) -> Outcome:
    """Send one request as ROLE inside a transaction that is rolled back; return what came back."""
    from django.core.cache import cache
    from django.db import connection, transaction

    role = world.roles[role_key]
    key = (role_key, not csrf_token)
    client = clients.get(key)
    if client is None:
        client = clients[key] = world.client(role_key, csrf=True)
    headers = dict(role.headers)
    headers.update(extra or {})
    if method == "POST" and csrf_token:
        client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
        headers["HTTP_X_CSRFTOKEN"] = CSRF_SECRET
    elif method == "POST":
        client.cookies.pop(settings.CSRF_COOKIE_NAME, None)
    cookies = copy.deepcopy(client.cookies)  # a sign-out or sign-in answer must not change who the next request is
    cache.clear()  # API throttles and allauth's limits count per client address; each request starts afresh
    recorder = WriteRecorder()
    with transaction.atomic():
        with connection.execute_wrapper(recorder):
            if method == "GET":
                response = client.get(url, **headers)
            elif api:
                body = b"{}"
                if role.api == "national":
                    headers.update(national_headers("POST", url.split("?")[0], body))
                response = client.post(url, data=body, content_type="application/json", **headers)
            else:
                response = client.post(url, data={}, **headers)
            # Reading a streamed body closes the response the way the test client expects (never close() here:
            # that would fire request_finished and close the test's database connection).
            body = b"".join(response.streaming_content) if response.streaming else response.content
        transaction.set_rollback(True)
    client.cookies = cookies
    return Outcome(
        status=response.status_code,
        location=response.get("Location", ""),
        content_type=response.get("Content-Type", ""),
        body=body,
        headers={k.lower(): v for k, v in response.items()},
        writes=recorder.tables,
    )


def vneid_overrides(server_url: str) -> dict[str, Any]:
    """allauth's VNeID provider pointed at a running simulator (the OIDC routes fetch its discovery document)."""
    providers = dict(settings.SOCIALACCOUNT_PROVIDERS)
    oidc = dict(providers["openid_connect"])
    oidc["APPS"] = [
        {**app, "settings": {**app.get("settings", {}), "server_url": server_url}}
        if app.get("provider_id") == "vneid"
        else app
        for app in oidc["APPS"]
    ]
    providers["openid_connect"] = oidc
    return {"SOCIALACCOUNT_PROVIDERS": providers}
