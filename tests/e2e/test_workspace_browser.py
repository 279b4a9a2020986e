"""The staff workspace in Chromium: every role signs in and moves a dossier to the returned result; a bulk
receive; axe-core (served by the portal itself, so the CSP stays on) on every workspace page."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from playwright.sync_api import expect

from procedures.models import Dossier, ProcedureStage, StaffProfile
from procedures.services import ApplicantData, dossier_submit
from procedures.uploads import check_upload
from tests.conftest import make_staff, pdf_upload
from tests.e2e.sign_in import staff_sign_in

# Keep the audit chain's head row (portal app, made by a migration) out of the flush; see the catalogue test.
APPS = [app for app in settings.INSTALLED_APPS if app != "portal"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, available_apps=APPS)]
AXE_URL = "/static/vendor/axe-core/axe.min.js"
# Tests run Celery eagerly: each action also renders its slips (WeasyPrint) before the response.
expect.set_options(timeout=30_000)


def serious_violations(page, live_server) -> list[dict]:
    if not page.evaluate("() => typeof axe !== 'undefined'"):  # once per document (htmx swaps keep it)
        page.add_script_tag(url=live_server.url + AXE_URL)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def check_axe(page, live_server) -> None:
    violations = serious_violations(page, live_server)
    assert violations == [], json.dumps(violations, ensure_ascii=False)


@pytest.fixture
def staged(procedure):
    for order, (name, role, budget) in enumerate(
        [
            ("Tiếp nhận, kiểm tra", ProcedureStage.Role.RECEPTION, 1),
            ("Thẩm định", ProcedureStage.Role.SPECIALIST, 140),
            ("Lãnh đạo phê duyệt", ProcedureStage.Role.LEADER_APPROVAL, 4),
            ("Ký duyệt", ProcedureStage.Role.SIGNING, 2),
            ("Văn thư vào số", ProcedureStage.Role.RECORDS, 1),
        ],
        start=1,
    ):
        procedure.stages.create(order=order, name=name, role=role, budget=budget)
    procedure.documents.create(order=1, name="Đơn đề nghị xét tặng")
    return procedure


def submit(procedure, citizen, name, national_id):
    return dossier_submit(
        procedure=procedure,
        applicant_user=citizen,
        applicant=ApplicantData(
            name=name, national_id=national_id, address="Hà Nội", phone="0912345678", email="a@example.vn"
        ),
        request_summary="Đề nghị xét tặng giải thưởng",
        upload=check_upload(pdf_upload()),
        document_title="Đơn đề nghị",
    )


@pytest.fixture
def staff_page(browser, live_server):
    contexts = []

    def sign_in(username: str):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}])
        contexts.append(context)
        page = context.new_page()
        staff_sign_in(page, live_server, username)
        page.goto(f"{live_server.url}/workspace/")
        return page

    yield sign_in
    for context in contexts:
        context.close()


def open_from_queue(page, live_server, queue_label: str, code: str) -> None:
    page.locator("#queue-tabs").get_by_role("link", name=queue_label).click()
    row = page.locator("#queue-table tbody tr", has_text=code)
    expect(row).to_be_visible()
    check_axe(page, live_server)
    row.get_by_role("link", name=code).click()
    expect(page.locator("#dossier-code")).to_have_text(code)


def test_every_role_takes_a_dossier_from_receipt_to_the_returned_result(
    staff_page,
    live_server,
    national_portal_simulator,
    staged,
    citizen_nhung,
    clerk_lan,
    leader_hai,
    officer_minh,
    signer_tuan,
    records_thu,
):
    admin = make_staff("admin", staged.agency, StaffProfile.Role.ADMINISTRATOR, first="An", last="Bùi")
    assert admin
    dossier = submit(staged, citizen_nhung, "Nguyễn Thị Hồng Nhung", "001195012345")
    others = [submit(staged, citizen_nhung, f"Trần Văn Bình {i}", f"00119501000{i}") for i in range(2)]

    # Reception clerk: a bulk receive of two dossiers, then one received from its own page.
    clerk = staff_page("clerk")
    expect(clerk.locator("#queue-title")).to_have_text("New online dossiers to receive")
    check_axe(clerk, live_server)
    for d in others:
        clerk.get_by_label(f"Select {d.reference}").check()
    clerk.get_by_role("button", name="Apply to the selection").click()
    report = clerk.locator(".ws-report")
    expect(report.locator("li.ok")).to_have_count(2)
    expect(clerk.locator("#queue-table tbody tr", has_text=others[0].reference)).to_have_count(0)
    expect(clerk.locator('.count[data-queue="to_receive"]')).to_have_text("1")
    check_axe(clerk, live_server)
    assert {Dossier.objects.get(pk=d.pk).state for d in others} == {Dossier.State.RECEIVED}

    clerk.get_by_role("link", name=dossier.reference).click()
    check_axe(clerk, live_server)
    clerk.locator("#action-receive").get_by_role("button", name="Receive").click()
    expect(clerk.locator("#dossier-status")).to_have_text("Received")
    code = Dossier.objects.get(pk=dossier.pk).code
    expect(clerk.locator("#dossier-code")).to_have_text(code)
    # A refusal without reasons: the browser asks first; the server's message is checked in the unit tests.

    # Leader: assigns it to the processing officer.
    leader = staff_page("leader")
    open_from_queue(leader, live_server, "To assign", code)
    check_axe(leader, live_server)
    leader.locator("#assign-officer").select_option(label="Lê Văn Minh")
    leader.locator("#action-assign").get_by_role("button", name="Assign").click()
    expect(leader.locator("#dossier-status")).to_have_text("In processing")

    # Processing officer: appraises and forwards it to the leader.
    officer = staff_page("officer")
    open_from_queue(officer, live_server, "Assigned to me", code)
    check_axe(officer, live_server)
    officer.locator("#action-forward_for_approval").get_by_role("button").click()
    expect(officer.locator("#dossier-status")).to_have_text("Awaiting the leader's approval")

    # Leader: approves.
    leader.goto(f"{live_server.url}/workspace/")
    open_from_queue(leader, live_server, "Awaiting my approval", code)
    leader.locator("#action-approve").get_by_role("button").click()
    expect(leader.locator("#dossier-status")).to_have_text("Awaiting signature")

    # Signing authority: signs.
    signer = staff_page("signer")
    open_from_queue(signer, live_server, "To sign", code)
    check_axe(signer, live_server)
    signer.locator("#action-sign").get_by_role("button").click()
    expect(signer.locator("#dossier-status")).to_have_text("Signed, to be numbered and issued")

    # Records clerk: numbers and issues the result.
    records = staff_page("records")
    open_from_queue(records, live_server, "To number and issue", code)
    check_axe(records, live_server)
    records.locator("#action-issue").get_by_role("button").click()
    expect(records.locator("#dossier-status")).to_have_text("Result ready")
    expect(records.locator("#result-number")).not_to_be_empty()

    # Reception clerk: hands the result back at the counter.
    clerk.goto(f"{live_server.url}/workspace/")
    open_from_queue(clerk, live_server, "Results to hand back", code)
    clerk.locator("#return-method").select_option("counter")
    clerk.locator("#action-return_result").get_by_role("button").click()
    expect(clerk.locator("#dossier-status")).to_have_text("Result returned")
    expect(clerk.locator("#no-actions")).to_be_visible()
    check_axe(clerk, live_server)

    returned = Dossier.objects.get(pk=dossier.pk)
    assert returned.state == Dossier.State.RETURNED and returned.return_method == "counter"
    kinds = list(returned.events.values_list("kind", flat=True))
    assert kinds == ["submitted", "received", "assigned", "forwarded", "approved", "signed", "issued", "returned"]

    # Administrator: the whole agency, filtered and searched without diacritics (axe on each).
    admin_page = staff_page("admin")
    expect(admin_page.locator("#queue-title")).to_have_text("All dossiers of the agency")
    check_axe(admin_page, live_server)
    admin_page.get_by_label("Dossier code or applicant name").fill("nguyen thi hong")
    admin_page.get_by_role("button", name="Filter").click()
    expect(admin_page.locator("#queue-table tbody tr")).to_have_count(1)
    expect(admin_page.locator("#queue-table tbody tr")).to_contain_text(code)
    assert "nguyen" in admin_page.url  # the name filter is a link the admin can share
    admin_page.get_by_label("Personal ID number of the applicant").fill("001195010001")
    admin_page.get_by_role("button", name="Search by ID").click()
    expect(admin_page.locator("#queue-title")).to_contain_text("search by personal ID")
    expect(admin_page.locator("#queue-table tbody tr")).to_contain_text("Trần Văn Bình 1")
    assert "001195010001" not in admin_page.url
    check_axe(admin_page, live_server)
