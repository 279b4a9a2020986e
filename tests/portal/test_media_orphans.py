"""No file without its row, no row without its file (security.md T36; the crash run is tests/soak/)."""

from __future__ import annotations

import os
import time

import pytest
from django.core.management import call_command
from django.db import OperationalError

from procedures.models import Dossier, DossierDocument
from tests.conftest import pdf_upload


def submit(procedure, citizen):
    from procedures.services import ApplicantData, dossier_submit
    from procedures.uploads import check_upload

    return dossier_submit(
        procedure=procedure,
        applicant_user=citizen,
        applicant=ApplicantData(
            name="Nguyễn Thị Hồng Nhung",
            national_id="001195012345",
            address="Số 1 Phố Huế",
            phone="0912345678",
            email="",
        ),
        request_summary="Đề nghị",
        upload=check_upload(pdf_upload()),
        document_title="Đơn đề nghị",
    )


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media) -> list[str]:
    return sorted(p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file()) if media.exists() else []


def test_a_submission_whose_transaction_fails_before_commit_leaves_no_file(
    db, media, procedure, citizen_nhung, monkeypatch
):
    def database_gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("procedures.services.audit_record", database_gone)

    with pytest.raises(OperationalError):
        submit(procedure, citizen_nhung)

    assert Dossier.objects.count() == 0
    assert stored_files(media) == []


def test_a_committed_submission_keeps_its_file_and_the_report_is_clean(db, media, procedure, citizen_nhung):
    from portal.media_orphans import media_orphans_find

    dossier = submit(procedure, citizen_nhung)

    document = DossierDocument.objects.get(dossier=dossier)
    assert stored_files(media) == [document.file.name]
    report = media_orphans_find(grace_seconds=0)
    assert (report.orphans, report.missing, report.files) == ([], [], 1)


def test_orphans_past_the_grace_period_are_reported_and_removed_and_missing_files_fail_the_command(
    db, media, procedure, citizen_nhung, capsys
):
    from django.core.management.base import CommandError

    dossier = submit(procedure, citizen_nhung)
    orphan = media / "dossiers" / "HS-LOST" / "lost.pdf"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"%PDF-1.4 lost")
    young = media / "dossiers" / "HS-LOST" / "in-flight.pdf"
    young.write_bytes(b"%PDF-1.4 in flight")
    old = time.time() - 2 * 3600
    os.utime(orphan, (old, old))

    call_command("media_orphans", "--delete")

    assert "orphan file: dossiers/HS-LOST/lost.pdf" in capsys.readouterr().out
    assert not orphan.exists() and young.exists()
    (media / DossierDocument.objects.get(dossier=dossier).file.name).unlink()
    with pytest.raises(CommandError, match="1 row"):
        call_command("media_orphans")
