"""Counter intake services: the ID card's QR text, the gateway check (verified, unavailable, re-verified
later against the population-registry simulator over real HTTP), the one-time token and the account."""

from __future__ import annotations

import datetime as dt
import threading
import unicodedata

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import translation

from integrations.gateway_models import GatewayMessage
from portal.crypto import pii_hash
from portal.errors import ApplicationError
from portal.models import AuditRecord
from procedures import counter
from procedures.models import CounterIntake, Dossier, DossierDocument, DossierEvent, ProcedureDocument
from procedures.services import ApplicantData
from procedures.uploads import check_upload
from tests.conftest import pdf_upload

TODAY = dt.date(2026, 11, 25)
GOOD = "001095012345|123456789|Nguyễn Văn An|15031995|Nam|Số 1 Phố Huế, Hai Bà Trưng, Hà Nội|20042021"


# --- helpers shared with test_counter_views.py, test_tracking_book.py and the browser test -------------


def qr_text_for(record, *, issue: str = "01072021") -> str:
    """The text a scanner types from the QR code of RECORD's card (simulator person)."""
    year, month, day = record.birth_date.split("-")
    fields = [record.personal_id, record.old_id, record.full_name, f"{day}{month}{year}", record.sex, record.residence]
    return "|".join([*fields, issue])


def rule_versions_ensure() -> None:
    """Transactional tests flush the database, and with it the rule versions migration 0005 seeds."""
    import importlib

    from procedures.models import RuleVersion

    seed = importlib.import_module("procedures.migrations.0005_lifecycle_rules")
    for rule in seed.RULES:
        RuleVersion.objects.update_or_create(code=rule["code"], defaults={k: v for k, v in rule.items() if k != "code"})


def counter_setup(procedure) -> None:
    """Give the test procedure a checklist and a form schema, as an administrator would."""
    procedure.form_schema = {
        "version": 1,
        "fields": [
            {
                "name": "title",
                "type": "text",
                "label": {"vi": "Tên công trình", "en": "Title of the work"},
                "required": True,
            },
            {
                "name": "kind",
                "type": "choice",
                "label": {"vi": "Hình thức", "en": "Kind"},
                "required": True,
                "options": [
                    {"value": "ca_nhan", "label": {"vi": "Cá nhân", "en": "Individual"}},
                    {"value": "tap_the", "label": {"vi": "Tập thể", "en": "Group"}},
                ],
            },
            {
                "name": "members",
                "type": "group",
                "label": {"vi": "Thành viên", "en": "Members"},
                "show_if": {"field": "kind", "equals": "tap_the"},
                "fields": [{"name": "member_name", "type": "text", "label": {"vi": "Họ tên", "en": "Name"}}],
                "min": 1,
            },
        ],
    }
    procedure.save()
    ProcedureDocument.objects.create(procedure=procedure, order=1, name="Đơn đề nghị xét tặng", accepted_types="pdf")
    ProcedureDocument.objects.create(
        procedure=procedure,
        order=2,
        name="Bản sao căn cước",
        accepted_types="pdf,jpg,png",
        replaced_by=ProcedureDocument.ReplacedBy.POPULATION_DB,
    )


def scanned(order: int = 1, title: str = "Đơn đề nghị xét tặng") -> counter.ScannedDocument:
    return counter.ScannedDocument(checklist_item=order, title=title, upload=check_upload(pdf_upload("scan-01.pdf")))


def applicant_for(intake: CounterIntake) -> ApplicantData:
    return ApplicantData(
        name=intake.full_name or "Nguyễn Văn An",
        national_id=intake.personal_id,
        address=intake.residence or "Số 1 Phố Huế, Hà Nội",
        phone="0912345678",
        email="",
    )


def create_counter_dossier(clerk, procedure, *, personal_id: str, qr=None, token: str | None = None):
    """Run an intake through the services; return (dossier, created)."""
    intake = counter.counter_intake_start(actor=clerk) if token is None else None
    token = token or intake.token
    counter.counter_identity_confirm(
        actor=clerk, token=token, personal_id=personal_id, qr=qr, procedure_id=procedure.pk
    )
    intake = CounterIntake.objects.get(token=token)
    return counter.counter_dossier_create(
        actor=clerk,
        token=token,
        applicant=applicant_for(intake),
        birth_date=intake.birth_date or "1995-03-15",
        request_summary="Đề nghị xét tặng giải thưởng",
        form_data={"title": "Công trình A", "kind": "ca_nhan"},
        documents=[scanned()],
    )


# --- the QR code of the chip-based ID card -------------------------------------------------------------


def test_a_card_qr_text_is_parsed_into_its_fields():
    card = counter.card_qr_parse(text=GOOD, today=TODAY)
    assert card.personal_id == "001095012345"
    assert card.old_id == "123456789"
    assert card.full_name == "Nguyễn Văn An"
    assert card.birth_date == dt.date(1995, 3, 15)
    assert card.sex == "Nam"
    assert card.residence == "Số 1 Phố Huế, Hai Bà Trưng, Hà Nội"
    assert card.issue_date == dt.date(2021, 4, 20)


def test_the_parser_tolerates_what_scanners_and_newer_cards_send():
    # decomposed Unicode (NFD), a trailing CR/LF from the scanner, spaces around fields, no old-ID field
    # at all, "NỮ" in capitals, and extra trailing fields of a newer card
    text = unicodedata.normalize(
        "NFD", " 079301001234 |Trần  Thị Bình|01022001|NỮ|Quận 1, TP. Hồ Chí Minh|05052022|X|Y\r\n"
    )
    card = counter.card_qr_parse(text=text, today=TODAY)
    assert (card.personal_id, card.old_id, card.sex) == ("079301001234", "", "Nữ")
    assert card.full_name == unicodedata.normalize("NFC", "Trần Thị Bình")
    assert card.residence == unicodedata.normalize("NFC", "Quận 1, TP. Hồ Chí Minh")
    assert card.extra == ("X", "Y")
    empty_old = counter.card_qr_parse(text="079301001234||Trần Thị Bình|01022001|Nữ|Quận 1", today=TODAY)
    assert (empty_old.old_id, empty_old.issue_date) == ("", None)


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("", "qr_empty", "The QR text is empty"),
        ("001095012345", "qr_format", "separated by “|”"),
        ("001095012345|123456789|Nguyễn Văn An|15031995", "qr_short", "has 4 fields"),
        ("00109501234|123456789|Nguyễn Văn An|15031995|Nam|Hà Nội|20042021", "qr_id", "12-digit personal ID"),
        ("001095012345|12345|Nguyễn Văn An|15031995|Nam|Hà Nội|20042021", "qr_old_id", "9 or 12 digits"),
        ("001095012345|123456789|Nguyễn Văn An|31021995|Nam|Hà Nội|20042021", "qr_date", "not a real date"),
        ("001095012345|123456789|Nguyễn Văn An|1995-03-15|Nam|Hà Nội|20042021", "qr_date", "ddmmyyyy"),
        ("001095012345|123456789|Nguyễn Văn An|15031995|Male|Hà Nội|20042021", "qr_sex", "“Nam” or “Nữ”"),
        ("001095012345|123456789|Nguyễn Văn An|15031995|Nam|Hà Nội|20041990", "qr_issue", "before the date of birth"),
        ("001095012345|123456789|Nguyễn Văn An|15031996|Nam|Hà Nội|20042021", "qr_id", "does not match"),
        ("999095012345|123456789|Nguyễn Văn An|15031995|Nam|Hà Nội|20042021", "qr_id", "not the province code"),
        ("001095012345|123456789|Nguyễn Văn An|15032030|Nam|Hà Nội|", "qr_date", "in the future"),
    ],
)
def test_malformed_qr_text_gets_a_clear_error(text, code, message):
    with translation.override("en"), pytest.raises(ValidationError) as error:
        counter.card_qr_parse(text=text, today=TODAY)
    assert error.value.error_list[0].code == code
    assert message in " ".join(error.value.messages)


# --- the gateway check ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_person_found_by_the_gateway_is_verified_and_shown(population_registry_simulator, clerk_lan, procedure):
    person = population_registry_simulator.living(11)
    intake = counter.counter_intake_start(actor=clerk_lan)
    qr = counter.card_qr_parse(text=qr_text_for(person))
    result = counter.counter_identity_confirm(
        actor=clerk_lan, token=intake.token, personal_id=person.personal_id, qr=qr, procedure_id=procedure.pk
    )
    assert result.status == Dossier.IdentityStatus.VERIFIED
    intake.refresh_from_db()
    assert (intake.full_name, intake.birth_date, intake.residence) == (
        person.full_name,
        person.birth_date,
        person.residence,
    )
    assert intake.source == CounterIntake.Source.QR
    entry = GatewayMessage.objects.get()
    assert entry.purpose == counter.GATEWAY_PURPOSE
    assert entry.consent_reference == f"counter-intake:{intake.token[:16]}"
    assert (entry.acting_user, entry.outcome, entry.request_id) == ("clerk", "found", intake.identity_request_id)
    assert population_registry_simulator.requests("XacMinhThongTinNhanThanRequest") == 1


@pytest.mark.django_db
def test_a_card_that_disagrees_with_the_database_is_a_mismatch(population_registry_simulator, clerk_lan, procedure):
    person = population_registry_simulator.living(12)
    text = qr_text_for(person).replace(person.full_name, "Lê Văn Khác")
    intake = counter.counter_intake_start(actor=clerk_lan)
    result = counter.counter_identity_confirm(
        actor=clerk_lan,
        token=intake.token,
        personal_id=person.personal_id,
        qr=counter.card_qr_parse(text=text),
        procedure_id=procedure.pk,
    )
    assert result.status == Dossier.IdentityStatus.MISMATCH
    intake.refresh_from_db()
    assert intake.full_name == person.full_name  # the database's data, not the card's


@pytest.mark.django_db
def test_unavailable_gateway_gives_an_unverified_dossier_that_the_task_verifies_later(
    population_registry_simulator, clerk_lan, procedure, django_capture_on_commit_callbacks
):
    from procedures.tasks_counter import counter_identity_reverify_task

    person = population_registry_simulator.living(13)
    qr = counter.card_qr_parse(text=qr_text_for(person))
    population_registry_simulator.faults(fail_next=1, status=503)
    with django_capture_on_commit_callbacks(execute=False):
        dossier, created = create_counter_dossier(clerk_lan, procedure, personal_id=person.personal_id, qr=qr)
    assert created
    assert dossier.identity_status == Dossier.IdentityStatus.UNVERIFIED
    assert (dossier.channel, dossier.state) == (Dossier.Channel.COUNTER, Dossier.State.RECEIVED)
    assert dossier.code and dossier.due_at is not None
    assert dossier.applicant_name == person.full_name  # typed from the card
    intake = dossier.counter_intake
    assert intake.birth_date == person.birth_date
    # the registry is still down: the task stops at the first "unavailable" and changes nothing
    population_registry_simulator.faults(fail_next=1, status=503)
    assert counter_identity_reverify_task.apply().get() == {"verified": 0, "mismatch": 0, "unavailable": 1}
    dossier.refresh_from_db()
    assert dossier.identity_status == Dossier.IdentityStatus.UNVERIFIED
    # the registry answers again: the beat task verifies the dossier, by a queryset update, audited
    assert counter_identity_reverify_task.apply().get() == {"verified": 1, "mismatch": 0, "unavailable": 0}
    dossier.refresh_from_db()
    assert dossier.identity_status == Dossier.IdentityStatus.VERIFIED
    assert dossier.identity_checked_at is not None
    record = AuditRecord.objects.get(action="dossier.identity_reverified")
    assert record.object_id == str(dossier.pk)
    assert record.data["to"] == "verified"
    outcomes = list(GatewayMessage.objects.order_by("id").values_list("outcome", "dossier_code"))
    assert outcomes[-1] == ("found", dossier.code)
    # nothing left to do
    assert counter_identity_reverify_task.apply().get() == {"verified": 0, "mismatch": 0, "unavailable": 0}


@pytest.mark.django_db
def test_an_unverified_person_whose_data_differs_is_re_verified_as_a_mismatch(
    population_registry_simulator, clerk_lan, procedure, settings, django_capture_on_commit_callbacks
):
    settings.GATEWAY_BREAKER_FAILURES = 1
    person = population_registry_simulator.living(14)
    qr = counter.card_qr_parse(text=qr_text_for(person).replace(person.full_name, "Lê Văn Khác"))
    population_registry_simulator.faults(fail_next=1, status=503)
    with django_capture_on_commit_callbacks(execute=False):
        dossier, _ = create_counter_dossier(clerk_lan, procedure, personal_id=person.personal_id, qr=qr)
    assert dossier.identity_status == Dossier.IdentityStatus.UNVERIFIED
    # the circuit is open now (one failure): the task does not even reach the registry
    before = population_registry_simulator.requests("XacMinhThongTinNhanThanRequest")
    assert counter.counter_identity_reverify()["unavailable"] == 1
    assert population_registry_simulator.requests("XacMinhThongTinNhanThanRequest") == before
    from integrations.gateway import gateway_reset

    gateway_reset()
    assert counter.counter_identity_reverify()["mismatch"] == 1
    dossier.refresh_from_db()
    assert dossier.identity_status == Dossier.IdentityStatus.MISMATCH


@pytest.mark.django_db
def test_a_number_the_database_does_not_know_is_a_mismatch_with_advice(
    population_registry_simulator, clerk_lan, procedure
):
    person = population_registry_simulator.living(15)
    absent = person.personal_id[:3] + str(int(person.personal_id[3]) ^ 1) + person.personal_id[4:]
    intake = counter.counter_intake_start(actor=clerk_lan)
    with translation.override("en"):
        result = counter.counter_identity_confirm(
            actor=clerk_lan, token=intake.token, personal_id=absent, procedure_id=procedure.pk
        )
    assert result.status == Dossier.IdentityStatus.MISMATCH
    assert "ask for the paper ID" in result.note


@pytest.mark.django_db
def test_an_invalid_typed_number_is_refused_before_the_gateway(population_registry_simulator, clerk_lan, procedure):
    intake = counter.counter_intake_start(actor=clerk_lan)
    with translation.override("en"), pytest.raises(ApplicationError) as error:
        counter.counter_identity_confirm(actor=clerk_lan, token=intake.token, personal_id="12345", procedure_id=None)
    assert "exactly 12 digits" in error.value.message
    assert GatewayMessage.objects.count() == 0


# --- creating and receiving the dossier --------------------------------------------------------------


@pytest.mark.django_db
def test_the_counter_dossier_is_created_received_and_records_what_was_digitised(
    population_registry_simulator, clerk_lan, procedure, django_capture_on_commit_callbacks
):
    counter_setup(procedure)
    person = population_registry_simulator.living(16)
    with django_capture_on_commit_callbacks(execute=True):
        dossier, created = create_counter_dossier(clerk_lan, procedure, personal_id=person.personal_id)
    assert created
    assert dossier.identity_status == Dossier.IdentityStatus.VERIFIED
    assert dossier.received_by_id == clerk_lan.pk
    assert dossier.form_data == {"title": "Công trình A", "kind": "ca_nhan"}
    document = DossierDocument.objects.get(dossier=dossier)
    assert (document.source, document.checklist_item, document.digitised_by_id) == ("scanned", 1, clerk_lan.pk)
    kinds = list(DossierEvent.objects.filter(dossier=dossier).values_list("kind", flat=True))
    assert kinds == ["submitted", "received"]
    assert dossier.official_documents.filter(kind="receipt").exists()  # rendered after commit by the task
    actions = set(AuditRecord.objects.filter(object_id=str(dossier.pk)).values_list("action", flat=True))
    assert {"dossier.submit", "dossier.receive"} <= actions


@pytest.mark.django_db
def test_a_second_submission_with_the_same_token_creates_nothing(
    population_registry_simulator, clerk_lan, procedure, django_capture_on_commit_callbacks
):
    person = population_registry_simulator.living(17)
    with django_capture_on_commit_callbacks(execute=False):
        first, created = create_counter_dossier(clerk_lan, procedure, personal_id=person.personal_id)
        token = first.counter_intake.token
        again, created_again = counter.counter_dossier_create(
            actor=clerk_lan,
            token=token,
            applicant=applicant_for(first.counter_intake),
            birth_date="",
            request_summary="x",
            form_data={},
            documents=[scanned()],
        )
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert Dossier.objects.count() == 1
    assert DossierDocument.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_double_click_at_the_same_moment_creates_one_dossier(population_registry_simulator, clerk_lan, procedure):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent row locks need PostgreSQL")
    rule_versions_ensure()
    person = population_registry_simulator.living(18)
    intake = counter.counter_intake_start(actor=clerk_lan)
    counter.counter_identity_confirm(
        actor=clerk_lan, token=intake.token, personal_id=person.personal_id, procedure_id=procedure.pk
    )
    intake.refresh_from_db()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def click():
        from django.db import connections

        try:
            barrier.wait(timeout=10)
            results.append(
                counter.counter_dossier_create(
                    actor=clerk_lan,
                    token=intake.token,
                    applicant=applicant_for(intake),
                    birth_date="",
                    request_summary="Đề nghị",
                    form_data={},
                    documents=[scanned()],
                )
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(created for _, created in results) == [False, True]
    assert len({d.pk for d, _ in results}) == 1
    assert Dossier.objects.count() == 1
    assert DossierDocument.objects.count() == 1


# --- the applicant account ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_dossier_belongs_to_the_citizen_account_or_one_inactive_placeholder(citizen_nhung):
    assert counter.counter_applicant_account(personal_id="001195012345") == citizen_nhung
    placeholder = counter.counter_applicant_account(personal_id="001095012345")
    assert placeholder.username == f"counter-{pii_hash('001095012345')}"
    assert not placeholder.is_active and not placeholder.has_usable_password()
    assert "001095012345" not in placeholder.username
    assert counter.counter_applicant_account(personal_id="001095012345") == placeholder
    assert get_user_model().objects.filter(username__startswith="counter-").count() == 1


# --- who may do it ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_reception_clerks_open_an_intake_and_only_their_own(
    population_registry_simulator, clerk_lan, clerk_other_agency, officer_minh, procedure, other_agency
):
    with pytest.raises(ApplicationError) as refused:
        counter.counter_intake_start(actor=officer_minh)
    assert refused.value.status == 403
    intake = counter.counter_intake_start(actor=clerk_lan)
    with pytest.raises(ApplicationError) as foreign:
        counter.counter_intake_get(actor=clerk_other_agency, token=intake.token)
    assert foreign.value.status == 404
    # a clerk of another agency cannot pick this agency's procedure
    other = counter.counter_intake_start(actor=clerk_other_agency)
    person = population_registry_simulator.living(19)
    with pytest.raises(ApplicationError) as wrong_procedure:
        counter.counter_identity_confirm(
            actor=clerk_other_agency, token=other.token, personal_id=person.personal_id, procedure_id=procedure.pk
        )
    assert wrong_procedure.value.extra == {"field": "procedure"}
