"""Official slips (Circular 03/2025 Annex I): rendered after each transition, numbered, verifiable, access-checked."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from portal.models import AuditRecord
from procedures.documents import (
    control_slip_revision,
    official_document_get_or_render,
    official_documents_for_event,
    tracking_book_entry,
)
from procedures.lifecycle import dossier_transition
from procedures.models import Dossier, DossierEvent, OfficialDocument, ProcedureStage

K = OfficialDocument.Kind
NATIONAL_ID = "001195012345"
ADDRESS = "Số 1 Phố Huế, Phường Hai Bà Trưng, Hà Nội"


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "slip.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True).stdout.decode()
    return re.sub(r"\s+", " ", out)  # a value wrapped over two lines still reads as one


def pdf_font_names(data: bytes, tmp_path) -> list[str]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True).stdout.decode()
    return [line.split()[0] for line in out.splitlines()[2:] if line.strip()]


def assert_only_liberation_serif(data: bytes, tmp_path) -> None:
    names = pdf_font_names(data, tmp_path)
    assert names, "the PDF embeds no font at all"
    for name in names:
        family = name.split("+", 1)[-1]
        assert family.startswith(("LiberationSerif", "Liberation-Serif")), names


def assert_form_line(text: str, number: str, basis: str) -> None:
    # "Mẫu số 02, Phụ lục I Thông tư 03/2025/TT-VPCP" (English until the lead merges the catalogue).
    assert re.search(rf"(Mẫu số|Form No\.) {number}\b", text), text
    assert basis in text


def vn_date(value) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y")


def act(dossier, action, actor, **kw):
    return dossier_transition(dossier_id=dossier.pk, action=action, actor=actor, **kw)


@pytest.fixture
def staged_procedure(procedure):
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
    return procedure


@pytest.fixture
def run_followups(django_capture_on_commit_callbacks):
    """Drive the lifecycle with its after-commit follow-ups (the slip task runs eagerly)."""

    def run(dossier, action, actor, **kw):
        with django_capture_on_commit_callbacks(execute=True):
            return act(dossier, action, actor, **kw)

    return run


@pytest.fixture
def quiet(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        yield


def slip(dossier, kind, sequence=1) -> OfficialDocument:
    return OfficialDocument.objects.get(dossier=dossier, kind=kind, sequence=sequence)


# --- every slip and its fields -------------------------------------------------------------------


@pytest.mark.django_db
def test_receipt_form01_prints_the_representative_tax_code_book_entry_and_number(
    submitted_dossier, clerk_lan, run_followups, tmp_path
):
    dossier = submitted_dossier
    dossier.organisation_tax_code = "0101234567"
    dossier.principal_name = "Lê Thị Phương Thảo"
    dossier.principal_id = "038190000123"
    dossier.principal_address = "Số 5 Đường Láng, Phường Láng, Hà Nội"
    dossier.principal_phone = "0987654321"
    dossier.principal_email = "thao@example.vn"
    dossier.authorisation_document = "Giấy ủy quyền số 12/2026/UQ"
    dossier.save(
        update_fields=[
            "organisation_tax_code",
            "principal_name",
            "principal_id",
            "principal_address",
            "principal_phone",
            "principal_email",
            "authorisation_document",
        ]
    )
    dossier = run_followups(dossier, "receive", clerk_lan)
    document = slip(dossier, K.RECEIPT)
    data = document.file.read()
    text = pdf_text(data, tmp_path)
    for value in (
        dossier.code,
        "Nguyễn Thị Hồng Nhung",
        NATIONAL_ID,
        ADDRESS,
        "0912345678",
        "0101234567",
        "Lê Thị Phương Thảo",
        "038190000123",
        "Số 5 Đường Láng, Phường Láng, Hà Nội",
        "0987654321",
        "Giấy ủy quyền số 12/2026/UQ",
        "Xét tặng giải thưởng Hải Thượng Lãn Ông",
        "Đơn đề nghị",
        vn_date(dossier.received_at),
        vn_date(dossier.due_at),
        "150 ngày làm việc",
        f"G18-YDCT/{timezone.localtime(dossier.received_at).year}",  # Quyển số: the sector's book of the year
        "Trần Thị Lan",  # the receiving clerk
    ):
        assert value in text, value
    assert document.number == "1/BPTNTKQ"  # Mẫu 01 has no own suffix: "{sequence}/{unit}"
    assert f"{document.number}" in text
    assert_form_line(text, "01", "03/2025/TT-VPCP")
    assert_only_liberation_serif(data, tmp_path)


@pytest.mark.django_db
def test_receipts_are_numbered_in_sequence_and_the_book_entry_follows_the_sector(
    procedure, citizen_nhung, clerk_lan, run_followups
):
    from procedures.services import ApplicantData, dossier_submit
    from procedures.uploads import check_upload
    from tests.conftest import pdf_upload

    numbers, entries = [], []
    for index in range(3):
        dossier = dossier_submit(
            procedure=procedure,
            applicant_user=citizen_nhung,
            applicant=ApplicantData(
                name=f"Người nộp {index}", national_id=NATIONAL_ID, address=ADDRESS, phone="0912345678", email=""
            ),
            request_summary="Đề nghị",
            upload=check_upload(pdf_upload()),
            document_title="Đơn",
        )
        run_followups(dossier, "receive", clerk_lan)
        numbers.append(slip(dossier, K.RECEIPT).number)
        entries.append(tracking_book_entry(Dossier.objects.select_related("procedure").get(pk=dossier.pk)))
    assert numbers == ["1/BPTNTKQ", "2/BPTNTKQ", "3/BPTNTKQ"]
    year = timezone.localdate().year
    assert entries == [(f"G18-YDCT/{year}", 1), (f"G18-YDCT/{year}", 2), (f"G18-YDCT/{year}", 3)]
    # The entry printed on the slip is the dossier's line in the tracking book export of its sector.
    from procedures.tracking_book import book_queryset, book_rows

    book = book_queryset(agency_id=procedure.agency_id, date_from=dt.date(year, 1, 1), date_to=dt.date(year, 12, 31))
    rows = list(book_rows(book))
    assert [row.number for _sector, row in rows] == [1, 2, 3]


@pytest.mark.django_db
def test_each_supplement_request_gets_its_own_numbered_slip_with_items_and_note(
    submitted_dossier, clerk_lan, citizen_nhung, run_followups, tmp_path
):
    d = run_followups(submitted_dossier, "receive", clerk_lan)
    d = run_followups(
        d,
        "request_supplement",
        clerk_lan,
        items=["Bản sao chứng thực Bằng khen của Bộ trưởng", "Sơ yếu lý lịch có xác nhận của địa phương"],
        reason="Đề nghị nộp trong 30 ngày, tại Bộ phận một cửa.",
    )
    d = run_followups(d, "supplement", citizen_nhung, documents=[])
    d = run_followups(d, "accept_supplement", clerk_lan)
    d = run_followups(d, "request_supplement", clerk_lan, items=["Ảnh chân dung 4x6"], reason="Ảnh chụp trong 6 tháng.")

    first, second = slip(d, K.SUPPLEMENT_REQUEST, 1), slip(d, K.SUPPLEMENT_REQUEST, 2)
    assert (first.number, second.number) == ("1/PBS-BPTNTKQ", "2/PBS-BPTNTKQ")
    text = pdf_text(first.file.read(), tmp_path)
    for value in (
        d.code,
        "Nguyễn Thị Hồng Nhung",
        ADDRESS,
        "Bản sao chứng thực Bằng khen của Bộ trưởng",
        "Sơ yếu lý lịch có xác nhận của địa phương",
        "Đề nghị nộp trong 30 ngày, tại Bộ phận một cửa.",
        "1/PBS-BPTNTKQ",
        vn_date(first.event.at),
        "Trần Thị Lan",
    ):
        assert value in text, value
    assert_form_line(text, "02", "03/2025/TT-VPCP")
    data = second.file.read()
    text = pdf_text(data, tmp_path)
    assert "Ảnh chân dung 4x6" in text and "Ảnh chụp trong 6 tháng." in text and "2/PBS-BPTNTKQ" in text
    assert "Sơ yếu lý lịch" not in text  # each slip lists its own request
    assert_only_liberation_serif(data, tmp_path)


@pytest.mark.django_db
def test_a_dossier_under_the_legacy_rules_gets_the_legacy_supplement_number(
    submitted_dossier, clerk_lan, run_followups, tmp_path
):
    d = run_followups(submitted_dossier, "receive", clerk_lan)
    Dossier.objects.filter(pk=d.pk).update(rule_version="ND61-2018/TT01-2018")
    d = run_followups(d, "request_supplement", clerk_lan, items=["Tờ khai bổ sung"], reason="")
    document = slip(d, K.SUPPLEMENT_REQUEST)
    assert document.number == f"{d.code}/HDHS"  # Circular 01/2018 Mẫu 02: "{MaHoSo}/HDHS" (domain.md §1.7.1)
    text = pdf_text(document.file.read(), tmp_path)
    assert f"{d.code}/HDHS" in text and "Tờ khai bổ sung" in text
    assert_form_line(text, "02", "01/2018/TT-VPCP")


@pytest.mark.django_db
def test_refusal_slip_carries_the_reasons_and_the_submission_reference(
    submitted_dossier, clerk_lan, run_followups, tmp_path
):
    reasons = "Hồ sơ không thuộc thẩm quyền giải quyết của Cục; đề nghị nộp tại Sở Y tế Hà Nội."
    d = run_followups(submitted_dossier, "refuse", clerk_lan, reason=reasons)
    document = slip(d, K.REFUSAL)
    data = document.file.read()
    text = pdf_text(data, tmp_path)
    for value in (d.reference, "Nguyễn Thị Hồng Nhung", NATIONAL_ID, ADDRESS, "1/PTC-BPTNTKQ", vn_date(d.finished_at)):
        assert value in text, value
    assert reasons.split(";")[0] in text and "Sở Y tế Hà Nội" in text
    assert_form_line(text, "03", "03/2025/TT-VPCP")
    assert_only_liberation_serif(data, tmp_path)


@pytest.mark.django_db
def test_apology_slip_gives_the_original_and_new_appointment_and_is_signed_by_the_head(
    received_dossier, leader_hai, run_followups, tmp_path
):
    original = received_dossier.due_at
    new_due = original + dt.timedelta(days=14)
    d = run_followups(
        received_dossier, "extend", leader_hai, reason="Chờ ý kiến thẩm định của Hội đồng chuyên môn", new_due=new_due
    )
    document = slip(d, K.APOLOGY)
    data = document.file.read()
    text = pdf_text(data, tmp_path)
    for value in (
        d.code,
        "Nguyễn Thị Hồng Nhung",
        NATIONAL_ID,
        "Xét tặng giải thưởng Hải Thượng Lãn Ông",
        vn_date(d.received_at),
        vn_date(original),
        timezone.localtime(original).strftime("%H"),
        vn_date(new_due),
        "Chờ ý kiến thẩm định của Hội đồng chuyên môn",
        "Phạm Văn Hải",
        "1/PXL-BPTNTKQ",
    ):
        assert value in text, value
    assert_form_line(text, "04", "03/2025/TT-VPCP")
    assert_only_liberation_serif(data, tmp_path)


@pytest.mark.django_db
def test_stop_notice_on_a_leaders_decision_and_on_the_applicants_request(
    received_dossier, submitted_dossier, leader_hai, citizen_nhung, clerk_lan, run_followups, tmp_path, procedure
):
    d = run_followups(received_dossier, "stop", leader_hai, reason="Người đề nghị không còn đủ điều kiện xét tặng")
    document = slip(d, K.STOP_NOTICE)
    data = document.file.read()
    text = pdf_text(data, tmp_path)
    for value in (
        d.code,
        "Nguyễn Thị Hồng Nhung",
        NATIONAL_ID,
        "Cục Quản lý Y, Dược cổ truyền",
        "Xét tặng giải thưởng Hải Thượng Lãn Ông",
        vn_date(d.received_at),
        "Người đề nghị không còn đủ điều kiện xét tặng",
        "Phạm Văn Hải",
        "1/BPTNTKQ",  # Mẫu 05's suffix is unknown (empty in the rule version)
    ):
        assert value in text, value
    assert_form_line(text, "05", "03/2025/TT-VPCP")
    assert_only_liberation_serif(data, tmp_path)


@pytest.mark.django_db
def test_a_withdrawal_after_receipt_gives_a_stop_notice_with_the_request_date(
    submitted_dossier, clerk_lan, citizen_nhung, run_followups, tmp_path
):
    d = run_followups(submitted_dossier, "receive", clerk_lan)
    d = run_followups(d, "withdraw", citizen_nhung, reason="Tôi xin rút hồ sơ để bổ sung thành tích")
    assert d.state == Dossier.State.STOPPED
    document = slip(d, K.STOP_NOTICE)
    text = pdf_text(document.file.read(), tmp_path)
    assert "Tôi xin rút hồ sơ để bổ sung thành tích" in text
    assert vn_date(document.event.at) in text and d.code in text


@pytest.mark.django_db
def test_control_slip_lists_every_hand_over_with_persons_times_and_outcome(
    staged_procedure, submitted_dossier, clerk_lan, leader_hai, officer_minh, run_followups, client, tmp_path, settings
):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    d = run_followups(submitted_dossier, "receive", clerk_lan)
    d = run_followups(d, "assign", leader_hai, officer=officer_minh.pk)
    d = run_followups(d, "forward_for_approval", officer_minh)
    # Not rendered per event: built from the hand-over log when asked for.
    assert not OfficialDocument.objects.filter(dossier=d, kind=K.CONTROL_SLIP).exists()
    client.force_login(leader_hai)
    response = client.get(reverse("documents:download", args=[d.reference, "control_slip"]))
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    document = OfficialDocument.objects.get(dossier=d, kind=K.CONTROL_SLIP)
    assert document.sequence == control_slip_revision(d)
    text = pdf_text(data, tmp_path)
    with translation.override("vi"):
        outcomes = {str(s.get_outcome_display()) for s in d.steps.exclude(outcome="")}
    for value in (
        d.code,
        "Cục Quản lý Y, Dược cổ truyền",
        "Thẩm định",
        "Lãnh đạo phê duyệt",
        "Lê Văn Minh",  # received the dossier from the leader
        "Phạm Văn Hải",  # gave it
        vn_date(d.received_at),
        "1/PKS-BPTNTKQ",
    ):
        assert value in text, value
    for value in outcomes:  # the outcome column is narrow: its words may be wrapped onto separate lines
        assert all(word in text for word in value.split()), value
    assert outcomes
    assert_form_line(text, "06", "03/2025/TT-VPCP")
    assert_only_liberation_serif(data, tmp_path)

    # A later hand-over: a new revision, same number; the old one stays verifiable as superseded.
    d = run_followups(d, "send_back", leader_hai, reason="Bổ sung ý kiến thẩm định")
    again = official_document_get_or_render(dossier_id=d.pk, kind=K.CONTROL_SLIP)
    assert again.sequence > document.sequence and again.number == document.number
    page = client.get(reverse("documents:verify", args=[document.verify_token]))
    page = page.content.decode()
    assert "A later revision of this slip exists" in page


# --- idempotency ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_running_the_follow_up_twice_gives_one_document(received_dossier, leader_hai, quiet):
    event = received_dossier.events.get(kind=DossierEvent.Kind.RECEIVED)
    first = official_documents_for_event(event_id=event.pk)
    second = official_documents_for_event(event_id=event.pk)
    assert [d.pk for d in first] == [d.pk for d in second]
    d = act(received_dossier, "stop", leader_hai, reason="Không đủ điều kiện")
    stop_event = d.events.get(kind=DossierEvent.Kind.STOPPED)
    official_documents_for_event(event_id=stop_event.pk)
    official_documents_for_event(event_id=stop_event.pk)
    assert OfficialDocument.objects.filter(dossier=d).count() == 2
    assert OfficialDocument.objects.get(dossier=d, kind=K.STOP_NOTICE).number == "1/BPTNTKQ"
    # Events without a slip render nothing.
    submitted = d.events.get(kind=DossierEvent.Kind.SUBMITTED)
    assert official_documents_for_event(event_id=submitted.pk) == []


def rule_versions_ensure() -> None:
    """Transactional tests flush the database, and with it the rule versions migration 0005 seeds."""
    import importlib

    from procedures.models import RuleVersion

    seed = importlib.import_module("procedures.migrations.0005_lifecycle_rules")
    for rule in seed.RULES:
        RuleVersion.objects.update_or_create(code=rule["code"], defaults={k: v for k, v in rule.items() if k != "code"})


@pytest.mark.django_db(transaction=True)
def test_two_workers_rendering_the_same_slip_store_one_document_and_use_one_number(
    staged_procedure, submitted_dossier, clerk_lan, leader_hai, officer_minh
):
    rule_versions_ensure()
    d = act(submitted_dossier, "receive", clerk_lan)
    d = act(d, "assign", leader_hai, officer=officer_minh.pk)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def render():
        barrier.wait()
        try:
            results.append(official_document_get_or_render(dossier_id=d.pk, kind=K.CONTROL_SLIP).pk)
        except Exception as exc:  # report, not hide
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=render) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1
    assert OfficialDocument.objects.filter(dossier=d, kind=K.CONTROL_SLIP).count() == 1
    assert OfficialDocument.objects.get(dossier=d, kind=K.CONTROL_SLIP).number == "1/PKS-BPTNTKQ"


# --- the public verification page -------------------------------------------------------------


@pytest.mark.django_db
def test_the_verification_page_shows_what_it_must_and_no_personal_data(received_dossier, client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    event = received_dossier.events.get(kind=DossierEvent.Kind.RECEIVED)
    official_documents_for_event(event_id=event.pk)
    document = slip(received_dossier, K.RECEIPT)
    assert len(document.verify_token) == 43  # 32 random bytes, URL-safe
    response = client.get(reverse("documents:verify", args=[document.verify_token]))
    assert response.status_code == 200
    page = response.content.decode()
    for value in (
        received_dossier.code,
        "1/BPTNTKQ",
        "Cục Quản lý Y, Dược cổ truyền",
        vn_date(event.at),
        "Receipt and appointment slip",
        "The stored file matches the checksum",
    ):
        assert value in page, value
    for secret in (NATIONAL_ID, "Phố Huế", "0912345678", "nhung@example.vn", "Nguyễn Thị Hồng Nhung"):
        assert secret not in page, secret
    assert "Digital signature" not in page  # slips are not signed results
    assert response["X-Robots-Tag"] == "noindex"

    # The stored file changed behind our back: the page says so.
    with document.file.open("rb") as handle:
        data = handle.read()
    with document.file.storage.open(document.file.name, "wb") as handle:
        handle.write(data.replace(b"%%EOF", b"%%EOF\n% changed"))
    page = client.get(reverse("documents:verify", args=[document.verify_token]))
    assert "does NOT match the checksum" in page.content.decode()
    assert client.get(reverse("documents:verify", args=["x" * 43])).status_code == 404


# --- downloads --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_applicant_downloads_a_slip_rendered_on_first_download_and_the_read_is_audited(
    received_dossier, citizen_nhung, client, tmp_path
):
    assert not OfficialDocument.objects.filter(dossier=received_dossier).exists()  # the task has not run
    client.force_login(citizen_nhung)
    before = AuditRecord.objects.filter(action="personal_data.read").count()
    response = client.get(reverse("documents:download", args=[received_dossier.reference, "receipt"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    data = b"".join(response.streaming_content)
    assert data.startswith(b"%PDF-") and received_dossier.code in pdf_text(data, tmp_path)
    assert OfficialDocument.objects.filter(dossier=received_dossier, kind=K.RECEIPT).count() == 1
    record = AuditRecord.objects.filter(action="personal_data.read").order_by("-id").first()
    assert AuditRecord.objects.filter(action="personal_data.read").count() == before + 1
    assert record.actor == citizen_nhung and record.data["kind"] == "receipt"
    listing = client.get(reverse("documents:list", args=[received_dossier.reference]))
    assert listing.status_code == 200
    assert (
        reverse("documents:download-seq", args=[received_dossier.reference, "receipt", 1]) in listing.content.decode()
    )


@pytest.mark.django_db
def test_strangers_get_404_and_learn_nothing(
    received_dossier, citizen_outsider, clerk_other_agency, client, run_followups
):
    event = received_dossier.events.get(kind=DossierEvent.Kind.RECEIVED)
    official_documents_for_event(event_id=event.pk)
    urls = [
        reverse("documents:download", args=[received_dossier.reference, "receipt"]),
        reverse("documents:download-seq", args=[received_dossier.reference, "receipt", 1]),
        reverse("documents:list", args=[received_dossier.reference]),
    ]
    for user in (citizen_outsider, clerk_other_agency):
        client.force_login(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 404, (user, url)
            body = response.content.decode()
            assert "Nguyễn Thị Hồng Nhung" not in body and received_dossier.code not in body
    client.logout()
    assert client.get(urls[0]).status_code == 302  # to sign-in


@pytest.mark.django_db
def test_staff_of_the_consulted_agency_may_download_and_a_slip_not_due_is_404(
    staged_procedure,
    submitted_dossier,
    clerk_lan,
    leader_hai,
    officer_minh,
    officer_other_agency,
    other_agency,
    client,
    quiet,
):
    d = act(submitted_dossier, "receive", clerk_lan)
    d = act(d, "assign", leader_hai, officer=officer_minh.pk)
    d = act(d, "consult", officer_minh, agency=other_agency.pk, reason="Đề nghị cho ý kiến về hồ sơ")
    client.force_login(officer_other_agency)
    assert client.get(reverse("documents:download", args=[d.reference, "receipt"])).status_code == 200
    assert client.get(reverse("documents:download", args=[d.reference, "control_slip"])).status_code == 200
    # No refusal, no supplement request, no result yet: nothing to render.
    for kind in ("refusal", "supplement_request", "result", "nonsense"):
        assert client.get(reverse("documents:download", args=[d.reference, kind])).status_code == 404, kind


@pytest.mark.django_db
def test_slips_whose_follow_up_was_lost_are_rendered_by_the_sweep(received_dossier, leader_hai, quiet):
    from procedures.documents import official_documents_missing_render

    act(
        received_dossier,
        "extend",
        leader_hai,
        reason="Chờ ý kiến Hội đồng",
        new_due=received_dossier.due_at + dt.timedelta(days=7),
    )
    since = timezone.now() - dt.timedelta(days=1)
    assert official_documents_missing_render(since=since) == 2  # the receipt and the apology
    assert official_documents_missing_render(since=since) == 0
    assert set(OfficialDocument.objects.values_list("kind", flat=True)) == {K.RECEIPT, K.APOLOGY}
