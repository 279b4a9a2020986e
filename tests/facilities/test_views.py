"""Facility screens, the parent's list, the public QR page: access control and what each shows."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from facilities.models import HealthDocument
from facilities.services import birth_certificates_issue, death_notice_issue
from portal.models import AuditRecord
from tests.facilities.conftest import MOTHER_ID, MOTHER_NAME, birth_data, child, death_data

pytestmark = pytest.mark.django_db


def form_post(data: dict, children: list[dict], form: str = "01") -> dict:
    body = {"form": form, **{k: v for k, v in data.items() if v not in (None, False)}}
    for i, kid in enumerate(children, start=1):
        body.update({f"child{i}-{k}": v for k, v in kid.items()})
    return body


def test_the_issue_form_issues_twins_and_shows_errors_next_to_fields(client, issuer_user):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # English pages (the default is Vietnamese)
    client.force_login(issuer_user)
    page = client.get(reverse("facilities:issue-birth"))
    assert page.status_code == 200
    assert 'name="child2-child_weight_g"' in page.content.decode()
    bad = client.post(
        reverse("facilities:issue-birth"), form_post(birth_data(children_count=2), [child()]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert bad.status_code == 200
    assert "give one set of details per child" in bad.content.decode()
    ok = client.post(
        reverse("facilities:issue-birth"),
        form_post(birth_data(children_count=2), [child(), child(child_sex="1", child_weight_g=2500)]),
    )
    assert ok.status_code == 302
    assert HealthDocument.objects.count() == 2
    listing = client.get(reverse("facilities:list")).content.decode()
    assert "00001.GCS.99001.26" in listing and "00002.GCS.99001.26" in listing


def test_forms_need_the_csrf_token(issuer_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(issuer_user)
    response = client.post(reverse("facilities:issue-death"), death_data())
    assert response.status_code == 403
    assert not HealthDocument.objects.exists()


def test_the_detail_read_is_audited_and_other_facilities_cannot_see_it(client, issuer, issuer_user, other_member):
    (document,) = birth_certificates_issue(issuer=issuer, data=birth_data(), children=[child()])
    client.force_login(other_member)
    assert client.get(reverse("facilities:detail", args=[document.pk])).status_code == 404
    assert client.get(reverse("facilities:pdf", args=[document.pk])).status_code == 404
    client.force_login(issuer_user)
    page = client.get(reverse("facilities:detail", args=[document.pk]))
    assert page.status_code == 200 and MOTHER_NAME in page.content.decode()
    assert AuditRecord.objects.filter(action="facilities.document.view", actor=issuer_user).count() == 1


def test_a_non_member_cannot_open_facility_screens(client, citizen_nhung, places_loaded):
    client.force_login(citizen_nhung)
    assert client.get(reverse("facilities:list")).status_code == 403
    assert client.get(reverse("facilities:issue-birth")).status_code == 403


def test_the_parent_sees_her_documents_and_statuses_and_a_stranger_sees_none(
    client, issuer, citizen_nhung, citizen_outsider
):
    documents = birth_certificates_issue(
        issuer=issuer, data=birth_data(children_count=2), children=[child(), child(child_sex="1")]
    )
    notice = death_notice_issue(issuer=issuer, data=death_data())
    HealthDocument.objects.filter(pk=documents[0].pk).update(delivery_status="acknowledged")
    client.force_login(citizen_nhung)
    page = client.get(reverse("facilities:my-documents"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for number in [*(d.number for d in documents), notice.number]:
        assert number in page
    assert MOTHER_ID not in page  # the list shows no personal data
    assert client.get(reverse("facilities:pdf", args=[documents[1].pk])).status_code == 200
    client.force_login(citizen_outsider)
    page = client.get(reverse("facilities:my-documents")).content.decode()
    assert documents[0].number not in page
    assert client.get(reverse("facilities:pdf", args=[documents[1].pk])).status_code == 404


def test_the_public_verification_page_shows_only_what_it_must(client, issuer, head):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # English pages (the default is Vietnamese)
    from facilities.services import document_reissue

    (document,) = birth_certificates_issue(issuer=issuer, data=birth_data(), children=[child()])
    page = client.get(reverse("facilities:verify", args=[document.verify_token]), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200
    assert document.number in html and "Bệnh viện Phụ sản Minh họa" in html
    assert "Valid signature of the facility" in html and 'id="v-validity">Valid' in html
    for personal in (MOTHER_NAME, MOTHER_ID, "Trần Văn Nam", "3100"):
        assert personal not in html
    document_reissue(issuer=head, document_id=document.pk, reason="loss", note="Mất")
    html = client.get(
        reverse("facilities:verify", args=[document.verify_token]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Superseded by a re-issued document" in html
    assert client.get(reverse("facilities:verify", args=["not-a-token"])).status_code == 404


def test_a_tampered_pdf_fails_verification(client, issuer):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # English pages (the default is Vietnamese)
    from django.core.files.base import ContentFile

    from facilities.selectors import _signature_check

    (document,) = birth_certificates_issue(issuer=issuer, data=birth_data(), children=[child()])
    data = document.pdf.read()
    name = document.pdf.name
    document.pdf.storage.delete(name)
    document.pdf.storage.save(name, ContentFile(data + b"\n% appended\n"))
    _signature_check.cache_clear()
    html = client.get(
        reverse("facilities:verify", args=[document.verify_token]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Signature NOT valid" in html


def test_reports_and_the_ministry_alert_page(client, issuer, head_user, admin_user):
    birth_certificates_issue(issuer=issuer, data=birth_data(), children=[child()])
    client.force_login(head_user)
    html = client.get(reverse("facilities:reports")).content.decode()
    assert 'id="r-birth">1<' in html
    assert client.get(reverse("facilities:alerts")).status_code == 403
    client.force_login(admin_user)
    assert client.get(reverse("facilities:alerts")).status_code == 200
    assert client.get(reverse("admin:facilities_facilityalert_changelist")).status_code == 200
    assert client.get(reverse("admin:facilities_healthdocument_changelist")).status_code == 200
