"""The dashboard pages: who sees what, drill-down lists that match their numbers (and are audited), exports."""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import pytest
from django.conf import settings
from django.utils import translation

from portal.models import AuditRecord
from quality.facts import quality_refresh
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db

MARCH = "start=2026-03-01&end=2026-03-31"


@pytest.fixture
def counted(dataset):
    quality_refresh()
    return dataset


def english(client, user):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_officers_and_citizens_may_not_see_the_dashboard(client, counted, officer_minh, citizen_nhung):
    english(client, officer_minh)
    assert client.get("/quality/").status_code == 403
    english(client, citizen_nhung)
    assert client.get("/quality/").status_code == 403
    client.logout()
    assert client.get("/quality/").status_code == 302  # to sign-in


def test_a_leader_sees_only_their_agency(client, counted, leader_other_agency, other_agency, agency):
    english(client, leader_other_agency)
    # Asking for another agency is ignored: the leader's own agency is always the scope.
    page = client.get(f"/quality/?{MARCH}&agency={agency.pk}")
    assert page.status_code == 200
    assert page.context["filters"].agency_id == other_agency.pk
    assert page.context["totals"]["received"] == 0
    listed = client.get(f"/quality/dossiers/?{MARCH}&counter=received&agency={agency.pk}")
    assert listed.context["count"] == 0


def test_the_leader_of_the_agency_sees_the_numbers_and_each_drills_down_to_as_many_dossiers(
    client, counted, leader_hai
):
    english(client, leader_hai)
    page = client.get(f"/quality/?{MARCH}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Resolved early or on time" in html and "(resolved early + resolved on time) / dossiers resolved" in html
    assert "<svg" in html and "reconciliation" not in page.context  # ministry-level tables only
    links = re.findall(
        r'<a (?:class="[a-z-]+" |id="[a-z0-9_-]+" )?href="(/quality/dossiers/\?[^"]+)">([0-9.]+)</a>', html
    )
    assert len(links) > 20
    before = AuditRecord.objects.filter(action="personal_data.read").count()
    for url, number in links:
        listed = client.get(url.replace("&amp;", "&"))
        assert listed.status_code == 200
        rows = listed.content.decode().count("<tr><td>")
        expected = float(number)
        if "counter=resolution_mdays" in url:
            continue  # the average's numerator (working days) lists the resolved dossiers
        assert listed.context["count"] == expected, url
        assert rows == min(expected, 100), url
    assert AuditRecord.objects.filter(action="personal_data.read").count() > before
    record = AuditRecord.objects.filter(action="personal_data.read").latest("id")
    assert record.data["purpose"] == "quality dashboard drill-down"


def test_the_on_time_numerator_lists_the_early_and_on_time_dossiers(client, counted, leader_hai):
    english(client, leader_hai)
    listed = client.get(f"/quality/dossiers/?{MARCH}&counter=resolved_early%2Bresolved_on_time")
    codes = {d.pk for d in listed.context["page"].object_list}
    assert codes == {counted["early"].pk, counted["paused"].pk, counted["month_end"].pk}
    assert "Trần Thị Bình" in listed.content.decode()  # applicant names: hence the audited read


def test_bad_input_gets_a_clear_translated_error(client, counted, leader_hai):
    english(client, leader_hai)
    page = client.get("/quality/?start=2026-04-01&end=2026-03-01")
    assert "The start of the period is after its end." in page.content.decode()
    assert client.get(f"/quality/dossiers/?{MARCH}&counter=nonsense").status_code == 400
    with translation.override("vi"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "vi"
        assert client.get(f"/quality/dossiers/?{MARCH}&backlog=99").status_code == 400


def test_the_ministry_sees_every_agency_the_reconciliation_table_and_gateway_use(client, counted, ministry_user):
    from integrations.gateway_models import GatewayMessage, ReconciliationChunk, ReconciliationJob

    job = ReconciliationJob.objects.create(name="Tiêm chủng", purpose="Đối soát", status="done")
    ReconciliationChunk.objects.create(
        job=job, number=1, state="done", record_count=5, payload="",
        counts={"Trạm Y tế A": {"matched": 3, "wrong_dob": 1, "other:deceased": 1}},
    )  # fmt: skip
    for i, outcome in enumerate(["verified", "mismatch", "unavailable"]):
        GatewayMessage.objects.create(
            caller="his-bv-bachmai", acting_user="u", purpose="p", operation="verify", request_id=f"r{i}",
            request_digest="d", outcome=outcome, prev_hash="0", hash=f"h{i}",
        )  # fmt: skip
    english(client, ministry_user)
    page = client.get("/quality/")
    assert page.status_code == 200
    assert page.context["filters"].agency_id is None
    total = page.context["reconciliation"]["total"]
    assert (total.total, total.counts["matched"], total.counts["wrong_dob"], total.counts["other"]) == (5, 3, 1, 1)
    (usage,) = page.context["gateway"]
    assert (usage["caller"], usage["calls"], usage["mismatches"], usage["failures"]) == ("his-bv-bachmai", 3, 1, 1)
    html = page.content.decode()
    assert "Wrong date of birth" in html and "his-bv-bachmai" in html


def test_exports_to_xlsx_and_pdf_carry_the_same_numbers(client, counted, leader_hai, tmp_path):
    from openpyxl import load_workbook

    english(client, leader_hai)
    response = client.get(f"/quality/export.xlsx?{MARCH}")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook[workbook.sheetnames[0]]
    rows = {row[1]: row for row in sheet.iter_rows(values_only=True)}
    on_time = rows["Resolved early or on time"]
    assert on_time[3:6] == (3, 4, 75.0)
    response = client.get(f"/quality/export.pdf?{MARCH}")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert shutil.which("pdftotext"), "pdftotext (poppler-utils) is part of the test stack"
    path = tmp_path / "report.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True).stdout.decode()
    assert "Service quality (Decision 766/QĐ-TTg)" in text
    assert "Cục Quản lý Y, Dược cổ truyền" in text
    assert re.search(r"Resolved early or on time.*?\s3\s+4\s+75\.0%", text, re.S)


def test_an_agency_administrator_also_sees_the_dashboard(client, counted, agency):
    from procedures.models import StaffProfile

    admin = make_staff("agency-admin", agency, StaffProfile.Role.ADMINISTRATOR)
    english(client, admin)
    assert client.get(f"/quality/?{MARCH}").context["totals"]["received"] == 4
