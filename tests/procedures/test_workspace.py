"""The staff workspace: queues by role and competence, search, audit, actions via htmx and without, bulk."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from portal.models import AuditRecord
from procedures import queues as queues_module
from procedures.lifecycle import dossier_transition
from procedures.models import Department, Dossier, StaffProfile
from procedures.queues import ROLE_QUEUES
from procedures.services import ApplicantData, dossier_submit
from procedures.uploads import check_upload
from tests.conftest import make_staff, pdf_upload

pytestmark = pytest.mark.django_db
S = Dossier.State
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def fresh_tab_counts():
    """Tab counts are cached (procedures.queues.tab_counts): no test sees another test's."""
    cache.clear()
    yield
    cache.clear()


def submit(procedure, citizen, name="Nguyễn Thị Hồng Nhung", national_id="001195012345"):
    return dossier_submit(
        procedure=procedure,
        applicant_user=citizen,
        applicant=ApplicantData(
            name=name, national_id=national_id, address="Số 1 Phố Huế, Hà Nội", phone="0912345678", email=""
        ),
        request_summary="Đề nghị xét tặng giải thưởng",
        upload=check_upload(pdf_upload()),
        document_title="Đơn đề nghị",
    )


def act(dossier, action, actor, **kw):
    return dossier_transition(dossier_id=dossier.pk, action=action, actor=actor, **kw)


@pytest.fixture
def quiet(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        yield


@pytest.fixture
def admin_an(agency):
    return make_staff("admin", agency, StaffProfile.Role.ADMINISTRATOR, first="An", last="Bùi")


@pytest.fixture
def pipeline(procedure, citizen_nhung, clerk_lan, leader_hai, officer_minh, signer_tuan, records_thu, quiet):
    """One dossier in each working state of agency A, keyed by state."""
    names = {
        S.SUBMITTED: "Nguyễn Thị Hồng Nhung",
        S.RECEIVED: "Đặng Văn Đức",
        S.IN_PROCESSING: "Phạm Thị Hoa",
        S.AWAITING_APPROVAL: "Lê Minh Tâm",
        S.AWAITING_SIGNATURE: "Vũ Thị Mai",
        S.AWAITING_ISSUE: "Trịnh Quốc Bảo",
        S.RESULT_READY: "Hồ Thị Lựu",
    }
    path = [
        ("receive", clerk_lan, {}),
        ("assign", leader_hai, {"officer": officer_minh.pk}),
        ("forward_for_approval", officer_minh, {}),
        ("approve", leader_hai, {}),
        ("sign", signer_tuan, {}),
        ("issue", records_thu, {}),
    ]
    made = {}
    for depth, (state, name) in enumerate(names.items()):
        d = submit(procedure, citizen_nhung, name=name, national_id=f"0011950{depth:05d}")
        for action, actor, params in path[:depth]:
            d = act(d, action, actor, **params)
        assert d.state == state
        made[state] = d
    return made


def codes(response):
    return [d.pk for d in response.context["page"].rows]


# --- queues per role --------------------------------------------------------------------------


def test_each_role_sees_its_queues_with_counts(
    client, pipeline, clerk_lan, leader_hai, officer_minh, signer_tuan, records_thu, admin_an
):
    expected = {
        clerk_lan: {"to_receive": S.SUBMITTED, "to_return": S.RESULT_READY, "supplemented": None},
        leader_hai: {
            "to_assign": S.RECEIVED,
            "awaiting_approval": S.AWAITING_APPROVAL,
            "overdue": None,
            "consultations": None,
        },
        officer_minh: {"mine": S.IN_PROCESSING, "department": S.IN_PROCESSING, "consultations": None},
        signer_tuan: {"to_sign": S.AWAITING_SIGNATURE},
        records_thu: {"to_issue": S.AWAITING_ISSUE, "to_return": S.RESULT_READY},
    }
    for user, queues in expected.items():
        client.force_login(user)
        for key, state in queues.items():
            response = client.get(reverse("workspace:queue", args=[key]))
            assert response.status_code == 200, (user, key)
            assert codes(response) == ([pipeline[state].pk] if state else []), (user.username, key)
        tabs = {q.key: n for q, n in response.context["tabs"]}
        assert set(tabs) == set(queues)
        assert all(n == ("1" if queues[k] else "0") for k, n in tabs.items())
    # A queue of another role is not there for this one.
    client.force_login(signer_tuan)
    assert client.get(reverse("workspace:queue", args=["to_receive"])).status_code == 404
    # The administrator sees everything of the agency, dated first (by due date), then by submission.
    client.force_login(admin_an)
    rows = codes(client.get(reverse("workspace:queue", args=["all"])))
    assert set(rows) == {d.pk for d in pipeline.values()}
    dated = [d for d in Dossier.objects.filter(pk__in=rows) if d.due_at]
    assert rows[: len(dated)] == [d.pk for d in sorted(dated, key=lambda d: (d.due_at, d.pk))]
    assert rows[-1] == pipeline[S.SUBMITTED].pk


def test_the_workspace_home_opens_the_first_queue_of_the_role(client, leader_hai, citizen_nhung):
    client.force_login(leader_hai)
    assert client.get(reverse("workspace:home")).url == reverse("workspace:queue", args=["to_assign"])
    client.force_login(citizen_nhung)
    assert client.get(reverse("workspace:home")).status_code == 403


def test_filters_narrow_the_queue(client, pipeline, admin_an, procedure):
    client.force_login(admin_an)
    url = reverse("workspace:queue", args=["all"])
    assert codes(client.get(url, {"state": S.AWAITING_SIGNATURE})) == [pipeline[S.AWAITING_SIGNATURE].pk]
    assert codes(client.get(url, {"procedure": procedure.pk + 999})) == []
    assert len(codes(client.get(url, {"procedure": procedure.pk}))) == 7
    assert codes(client.get(url, {"overdue": "1"})) == []
    due = pipeline[S.RECEIVED].due_at
    in_range = codes(client.get(url, {"due_from": due.date().isoformat(), "due_to": due.date().isoformat()}))
    assert pipeline[S.RECEIVED].pk in in_range and pipeline[S.SUBMITTED].pk not in in_range
    bad = client.get(url, {"due_from": "31/02/2026"})
    assert bad.status_code == 200 and bad.context["filters"].errors == ["due_from"]


def test_overdue_dossiers_are_highlighted_and_listed_for_the_leader(client, pipeline, leader_hai):
    late = pipeline[S.RECEIVED]
    Dossier.objects.filter(pk=late.pk).update(watch=Dossier.Watch.OVERDUE, due_at=late.received_at)
    client.force_login(leader_hai)
    response = client.get(reverse("workspace:queue", args=["overdue"]))
    assert codes(response) == [late.pk]
    page = response.content.decode()
    assert 'class="watch-overdue"' in page
    with translation.override("en"):
        page = client.get(reverse("workspace:queue", args=["to_assign"]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "watch-overdue" in page


# --- search -----------------------------------------------------------------------------------


def test_search_by_name_ignores_diacritics_and_case(client, pipeline, admin_an):
    client.force_login(admin_an)
    url = reverse("workspace:queue", args=["all"])
    assert codes(client.get(url, {"q": "nguyen thi hong"})) == [pipeline[S.SUBMITTED].pk]
    assert codes(client.get(url, {"q": "DANG van duc"})) == [pipeline[S.RECEIVED].pk]  # Đ is D
    assert codes(client.get(url, {"q": "Lựu"})) == [pipeline[S.RESULT_READY].pk]
    assert codes(client.get(url, {"q": "nobody here"})) == []


def test_search_by_dossier_code_or_reference(client, pipeline, admin_an):
    client.force_login(admin_an)
    url = reverse("workspace:queue", args=["all"])
    issued = pipeline[S.AWAITING_ISSUE]
    assert codes(client.get(url, {"q": issued.code})) == [issued.pk]
    assert codes(client.get(url, {"q": pipeline[S.SUBMITTED].reference.lower()})) == [pipeline[S.SUBMITTED].pk]


def test_search_by_personal_id_works_only_from_the_request_body(client, pipeline, admin_an):
    client.force_login(admin_an)
    url = reverse("workspace:queue", args=["all"])
    target = pipeline[S.IN_PROCESSING]
    response = client.post(url, {"national_id": "001195000002"})
    assert codes(response) == [target.pk]
    assert response.context["id_search"]
    # In the URL it is ignored: never a filter, so nobody is tempted to put it there.
    assert len(codes(client.get(url, {"national_id": "001195000002"}))) == 7
    # The page's form posts it; no link carries it.
    page = client.get(url).content.decode()
    assert 'id="id-search" method="post"' in page


# --- audit ------------------------------------------------------------------------------------


def test_one_audit_record_per_queue_page_and_per_dossier_opened(client, pipeline, clerk_lan):
    client.force_login(clerk_lan)
    before = AuditRecord.objects.filter(action="personal_data.read").count()
    client.get(reverse("workspace:queue", args=["to_receive"]))
    records = list(AuditRecord.objects.filter(action="personal_data.read").order_by("id")[before:])
    assert len(records) == 1
    assert records[0].data["dossiers"] == [pipeline[S.SUBMITTED].pk]
    assert records[0].actor_id == clerk_lan.pk
    client.get(reverse("workspace:dossier", args=[pipeline[S.RESULT_READY].pk]))
    records = list(AuditRecord.objects.filter(action="personal_data.read").order_by("id")[before:])
    assert len(records) == 2
    assert records[1].object_id == str(pipeline[S.RESULT_READY].pk)
    # An empty page shows nobody's data and records nothing.
    client.get(reverse("workspace:queue", args=["supplemented"]))
    assert AuditRecord.objects.filter(action="personal_data.read").count() == before + 2


# --- access between agencies ------------------------------------------------------------------


def test_another_agency_cannot_list_open_act_on_or_download(
    client, pipeline, officer_other_agency, leader_other_agency, clerk_other_agency
):
    target = pipeline[S.IN_PROCESSING]
    document = target.documents.first()
    for user in (officer_other_agency, leader_other_agency, clerk_other_agency):
        client.force_login(user)
        profile = user.staff_profile
        for key in ROLE_QUEUES[profile.role]:
            assert codes(client.get(reverse("workspace:queue", args=[key]))) == []
        for url in (
            reverse("workspace:dossier", args=[target.pk]),
            reverse("workspace:document", args=[target.pk, document.pk]),
        ):
            response = client.get(url)
            assert response.status_code == 404
            assert target.applicant_name not in response.content.decode()
        response = client.post(reverse("workspace:act", args=[target.pk, "transfer"]), {"officer": user.pk})
        assert response.status_code == 404 and target.applicant_name not in response.content.decode()
    # Bulk: the other agency's dossier is reported as not found, by number only.
    client.force_login(leader_other_agency)
    response = client.post(
        reverse("workspace:bulk", args=["to_assign"]),
        {"action": "assign", "ids": [pipeline[S.RECEIVED].pk], "officer": officer_other_agency.pk},
        **HTMX,
    )
    report = response.context["report"]
    assert [r["ok"] for r in report] == [False]
    assert pipeline[S.RECEIVED].code not in response.content.decode()
    assert Dossier.objects.get(pk=pipeline[S.RECEIVED].pk).state == S.RECEIVED


def test_a_dossier_sent_for_consultation_is_visible_to_the_consulted_agency(
    client, pipeline, officer_minh, officer_other_agency, other_agency, quiet
):
    target = act(pipeline[S.IN_PROCESSING], "consult", officer_minh, agency=other_agency.pk, reason="Xin ý kiến")
    client.force_login(officer_other_agency)
    assert codes(client.get(reverse("workspace:queue", args=["consultations"]))) == [target.pk]
    page = client.get(reverse("workspace:dossier", args=[target.pk]))
    assert page.status_code == 200
    assert [a.name for a in page.context["actions"]] == ["answer_consultation"]
    document = target.documents.first()
    assert client.get(reverse("workspace:document", args=[target.pk, document.pk])).status_code == 200
    response = client.post(
        reverse("workspace:act", args=[target.pk, "answer_consultation"]), {"reason": "Thống nhất"}, **HTMX
    )
    assert response.status_code == 200
    assert Dossier.objects.get(pk=target.pk).state == S.IN_PROCESSING
    # Still not theirs to decide: the leader's queues of agency B stay empty.
    assert codes(client.get(reverse("workspace:queue", args=["department"]))) == []


# --- actions: htmx, plain POST, errors ---------------------------------------------------------


def test_actions_offered_ask_for_what_they_need(client, pipeline, leader_hai, clerk_lan, procedure):
    procedure.documents.create(order=1, name="Bản sao chứng chỉ hành nghề")
    client.force_login(clerk_lan)
    page = client.get(reverse("workspace:dossier", args=[pipeline[S.SUBMITTED].pk])).content.decode()
    assert 'id="action-receive"' in page and 'id="action-refuse"' in page
    assert 'name="items" value="Bản sao chứng chỉ hành nghề"' in page
    assert 'id="refuse-reason" name="reason" rows="2" required' in page
    client.force_login(leader_hai)
    page = client.get(reverse("workspace:dossier", args=[pipeline[S.RECEIVED].pk])).content.decode()
    assert 'id="assign-officer" name="officer" required' in page and "Lê Văn Minh" in page
    assert 'id="action-extend"' in page and 'name="new_due" type="datetime-local"' in page


def test_an_action_through_htmx_returns_the_refreshed_panel(client, pipeline, leader_hai, officer_minh, quiet):
    client.force_login(leader_hai)
    target = pipeline[S.RECEIVED]
    url = reverse("workspace:act", args=[target.pk, "assign"])
    with translation.override("en"):
        response = client.post(url, {"officer": officer_minh.pk}, HTTP_ACCEPT_LANGUAGE="en", **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="dossier-panel">') and "<html" not in body
    assert 'id="action-done"' in body
    assert Dossier.objects.get(pk=target.pk).assigned_to == officer_minh


def test_errors_are_shown_at_the_form_never_a_500(client, pipeline, clerk_lan, leader_hai, quiet):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # English pages (the default is Vietnamese)
    client.force_login(clerk_lan)
    target = pipeline[S.SUBMITTED]
    url = reverse("workspace:act", args=[target.pk, "refuse"])
    with translation.override("en"):
        response = client.post(url, {"reason": " "}, **HTMX)
        assert response.status_code == 200
        assert "Reasons for refusal: this field is required." in response.content.decode()
        plain = client.post(url, {"reason": ""})
        assert plain.status_code == 400
        assert "Reasons for refusal: this field is required." in plain.content.decode()
        # Not allowed in this state: 409 with the state named.
        sign = client.post(reverse("workspace:act", args=[target.pk, "sign"]))
        assert sign.status_code == 409 or sign.status_code == 403
        # A badly typed date for the new appointment.
        client.force_login(leader_hai)
        extend = client.post(
            reverse("workspace:act", args=[pipeline[S.RECEIVED].pk, "extend"]), {"new_due": "tomorrow", "reason": "x"}
        )
        assert extend.status_code == 400 and "Give the new appointment" in extend.content.decode()
    assert client.post(reverse("workspace:act", args=[target.pk, "no_such_action"])).status_code == 404
    assert Dossier.objects.get(pk=target.pk).state == S.SUBMITTED


def test_without_javascript_an_action_posts_and_redirects(client, pipeline, clerk_lan, procedure, quiet):
    procedure.documents.create(order=1, name="Đơn đề nghị có chữ ký")
    client.force_login(clerk_lan)
    target = pipeline[S.SUBMITTED]
    response = client.post(
        reverse("workspace:act", args=[target.pk, "request_supplement"]),
        {"items": ["Đơn đề nghị có chữ ký"], "other_items": "Ảnh 4x6\n\n", "reason": "Bổ sung trong 10 ngày"},
    )
    assert response.status_code == 302 and response.url == reverse("workspace:dossier", args=[target.pk])
    target.refresh_from_db()
    assert target.state == S.SUPPLEMENT_REQUESTED
    assert target.supplement_items == ["Đơn đề nghị có chữ ký", "Ảnh 4x6"]


def test_the_dossier_page_shows_identity_steps_events_and_working_days_left(client, pipeline, leader_hai):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # English pages (the default is Vietnamese)
    target = pipeline[S.IN_PROCESSING]
    Dossier.objects.filter(pk=target.pk).update(identity_status=Dossier.IdentityStatus.UNVERIFIED)
    client.force_login(leader_hai)
    with translation.override("en"):
        response = client.get(reverse("workspace:dossier", args=[target.pk]), HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert 'class="tag tag-overdue">Not verified' in page
    assert response.context["days_left"] > 100  # 150 working days, just received
    assert "working day(s) left" in page
    assert len(response.context["steps"]) == 2 and len(response.context["events"]) == 3
    assert target.applicant_national_id in page


# --- bulk -------------------------------------------------------------------------------------


def test_bulk_receive_reports_each_item(client, procedure, citizen_nhung, clerk_lan, quiet):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # English pages (the default is Vietnamese)
    dossiers = [submit(procedure, citizen_nhung, name=f"Người nộp {i}") for i in range(3)]
    act(dossiers[1], "refuse", clerk_lan, reason="Không thuộc thẩm quyền")
    client.force_login(clerk_lan)
    url = reverse("workspace:bulk", args=["to_receive"])
    with translation.override("en"):
        response = client.post(url, {"action": "receive", "ids": [d.pk for d in dossiers]}, **HTMX)
    report = response.context["report"]
    assert [r["ok"] for r in report] == [True, False, True]
    assert "is not possible now" in report[1]["message"]
    assert [Dossier.objects.get(pk=d.pk).state for d in dossiers] == [S.RECEIVED, S.REFUSED, S.RECEIVED]
    body = response.content.decode()
    assert 'id="queue-tabs" class="ws-tabs"' in body and 'hx-swap-oob="true"' in body
    # No JavaScript: the same, as messages after a redirect.
    again = client.post(url, {"action": "receive", "ids": [dossiers[0].pk]})
    assert again.status_code == 302
    with translation.override("en"):
        assert client.post(url, {"action": "assign", "ids": [dossiers[0].pk]}).status_code == 302


def test_bulk_assign_needs_an_officer_of_the_agency(
    client, procedure, citizen_nhung, clerk_lan, leader_hai, officer_minh, officer_other_agency, quiet
):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # English pages (the default is Vietnamese)
    dossiers = [act(submit(procedure, citizen_nhung, name=f"Người {i}"), "receive", clerk_lan) for i in range(2)]
    department = Department.objects.create(agency=procedure.agency, code="P1", name="Phòng Nghiệp vụ")
    client.force_login(leader_hai)
    url = reverse("workspace:bulk", args=["to_assign"])
    ids = [d.pk for d in dossiers]
    with translation.override("en"):
        response = client.post(url, {"action": "assign", "ids": ids, "officer": officer_other_agency.pk}, **HTMX)
    assert [r["message"] for r in response.context["report"]] == ["Choose a processing officer of this agency."] * 2
    response = client.post(
        url, {"action": "assign", "ids": ids, "officer": officer_minh.pk, "department": department.pk}, **HTMX
    )
    assert all(r["ok"] for r in response.context["report"])
    assert set(Dossier.objects.filter(pk__in=ids).values_list("assigned_to", "department")) == {
        (officer_minh.pk, department.pk)
    }
    assert codes(response) == []  # the refreshed queue no longer lists them


def test_htmx_queue_requests_get_the_results_fragment(client, pipeline, clerk_lan):
    client.force_login(clerk_lan)
    response = client.get(reverse("workspace:queue", args=["to_receive"]), {"q": "nguyen"}, **HTMX)
    body = response.content.decode()
    assert "<html" not in body and 'id="queue-table"' in body
    full = client.get(reverse("workspace:queue", args=["to_receive"])).content.decode()
    assert "<html" in full and 'hx-target="#queue-results"' in full


# --- paging and query counts ------------------------------------------------------------------


def test_keyset_pages_walk_the_queue_once_in_due_order(client, admin_an, procedure, citizen_nhung, monkeypatch):
    from procedures import queues
    from tests.procedures.test_workspace_scale import bulk_dossiers

    bulk_dossiers(agency=procedure.agency, procedure=procedure, applicant=citizen_nhung, count=37, undated_every=5)
    monkeypatch.setattr(queues, "PAGE_SIZE", 10)
    client.force_login(admin_an)
    url = reverse("workspace:queue", args=["all"])
    seen, after = [], None
    for _round in range(10):
        response = client.get(url, {"after": after} if after else {})
        seen += codes(response)
        after = response.context["page"].next_cursor
        if after is None:
            break
    everything = list(Dossier.objects.filter(agency=procedure.agency))
    dated = sorted((d for d in everything if d.due_at), key=lambda d: (d.due_at, d.pk))
    undated = sorted(d.pk for d in everything if not d.due_at)
    assert seen == [d.pk for d in dated] + undated
    assert client.get(url, {"after": "garbage"}).context["page"].first


QUEUE_PAGE_QUERIES = 16


def test_a_page_of_fifty_rows_costs_no_more_queries_than_a_page_of_three(
    client, admin_an, procedure, citizen_nhung, django_assert_max_num_queries, django_assert_num_queries
):
    from tests.procedures.test_workspace_scale import bulk_dossiers

    bulk_dossiers(agency=procedure.agency, procedure=procedure, applicant=citizen_nhung, count=3)
    client.force_login(admin_an)
    url = reverse("workspace:queue", args=["to_assign"])
    client.get(url)  # warm the session and the calendar caches
    with CaptureQueriesContext(connection) as small:
        assert len(codes(client.get(url))) == 3
    bulk_dossiers(agency=procedure.agency, procedure=procedure, applicant=citizen_nhung, count=80)
    # (The small page also reads the undated tail, which the full page does not reach.)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(codes(client.get(url))) == 50
    # The whole last page, tab counts cached: session, user, staff profile, the keyset reads of the one
    # branch (dated rows, then the undated tail), the 50 rows, the audit record (savepoint, chain head,
    # INSERT, UPDATE, release), the filter choices (stages, procedures), the citizen-profile context
    # processor, the agency's name and the officers to assign to. Before the tab counts were cached
    # and read in one statement, the administrator's page made one more query per tab: 26.
    after = client.get(url).context["page"].next_cursor
    with django_assert_num_queries(QUEUE_PAGE_QUERIES):
        assert len(codes(client.get(url, {"after": after}))) == 33


def tab(response, key):
    return {q.key: n for q, n in response.context["tabs"]}[key]


def test_a_transition_changes_the_tab_counts_the_next_page_shows(
    client, procedure, citizen_nhung, clerk_lan, django_capture_on_commit_callbacks
):
    first = submit(procedure, citizen_nhung)
    submit(procedure, citizen_nhung, name="Trần Văn Bình", national_id="001090000002")
    client.force_login(clerk_lan)
    url = reverse("workspace:queue", args=["to_receive"])
    assert tab(client.get(url), "to_receive") == "2"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        act(first, "receive", clerk_lan)
    # The counts are cached: until the transition's commit hook runs, the page still shows the old count...
    assert tab(client.get(url), "to_receive") == "2"
    # ...until the lifecycle's after-commit hook runs (a test never commits: run it as the commit would).
    [hook] = [cb for cb in callbacks if getattr(cb, "func", None) is queues_module.queue_counts_changed]
    hook()
    response = client.get(url)
    assert tab(response, "to_receive") == "1"
    assert codes(response) != [first.pk] and first.pk not in codes(response)
    assert 'data-queue="to_receive">1</span>' in response.content.decode()


def test_tab_counts_are_read_in_one_query_and_capped(client, admin_an, procedure, citizen_nhung, monkeypatch):
    from tests.procedures.test_workspace_scale import bulk_dossiers

    bulk_dossiers(agency=procedure.agency, procedure=procedure, applicant=citizen_nhung, count=7)
    bulk_dossiers(agency=procedure.agency, procedure=procedure, applicant=citizen_nhung, count=3, state=S.SUBMITTED)
    monkeypatch.setattr(queues_module, "COUNT_CAP", 5)
    profile = admin_an.staff_profile
    available = queues_module.queues_for(profile)
    with CaptureQueriesContext(connection) as ctx:
        values = queues_module.queue_counts(profile=profile, queues=available)
    counts = dict(zip([q.key for q in available], values, strict=True))
    assert len(ctx.captured_queries) == 1
    # Each equals the one-queue count; over the cap it stops at cap + 1 (shown "5+").
    assert counts == {q.key: queues_module.queue_count(profile=profile, queue=q) for q in available}
    assert counts["to_assign"] == 6 and counts["to_receive"] == 3 and counts["all"] == 6 and counts["to_sign"] == 0
    client.force_login(admin_an)
    response = client.get(reverse("workspace:queue", args=["all"]))
    assert tab(response, "to_assign") == "5+" and tab(response, "to_receive") == "3"


def test_a_consultation_changes_the_consulted_agencys_counts_too(
    client, pipeline, officer_minh, officer_other_agency, other_agency, django_capture_on_commit_callbacks
):
    client.force_login(officer_other_agency)
    url = reverse("workspace:queue", args=["consultations"])
    assert tab(client.get(url), "consultations") == "0"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        act(pipeline[S.IN_PROCESSING], "consult", officer_minh, agency=other_agency.pk, reason="Xin ý kiến")
    assert tab(client.get(url), "consultations") == "0"  # cached, until the commit hook runs
    [hook] = [cb for cb in callbacks if getattr(cb, "func", None) is queues_module.queue_counts_changed]
    hook()
    assert tab(client.get(url), "consultations") == "1"


def test_without_a_reachable_cache_the_page_counts_and_a_transition_still_commits(
    client, procedure, citizen_nhung, clerk_lan, settings, django_capture_on_commit_callbacks, caplog
):
    # A Redis cache on a port nothing listens on: every cache call fails with a connection error.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    dossier = submit(procedure, citizen_nhung)
    client.force_login(clerk_lan)
    url = reverse("workspace:queue", args=["to_receive"])
    assert tab(client.get(url), "to_receive") == "1"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        act(dossier, "receive", clerk_lan)
    [hook] = [cb for cb in callbacks if getattr(cb, "func", None) is queues_module.queue_counts_changed]
    hook()  # logs, does not raise
    assert tab(client.get(url), "to_receive") == "0"
    assert "cache unavailable, counts of agency" in caplog.text and "cache unavailable, counting" in caplog.text
