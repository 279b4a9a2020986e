"""Official slips: render a template to PDF with WeasyPrint, once, and keep it with its checksum."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from portal.people import person_name
from procedures.models import Dossier, OfficialDocument

# Template and its legal version: BM.01 of Circular 03/2025/TT-VPCP Annex I as reproduced in MoH Decision 3621.
RECEIPT_TEMPLATE = "pdf/receipt_form01.html"
RECEIPT_TEMPLATE_VERSION = "TT03-2025/BM01"


def render_pdf(template: str, context: dict) -> bytes:
    """Return the PDF bytes of TEMPLATE rendered with CONTEXT (Vietnamese, declared fonts)."""
    from weasyprint import HTML  # imported here: the site boots without Pango, only PDFs need it

    with translation.override("vi"):
        html = render_to_string(template, context)
    return HTML(string=html, base_url=None).write_pdf()


def dossier_receipt_get_or_render(*, dossier_id: int) -> OfficialDocument:
    """Return the receipt slip of a received dossier, rendering and storing it the first time."""
    existing = OfficialDocument.objects.filter(dossier_id=dossier_id, kind=OfficialDocument.Kind.RECEIPT).first()
    if existing is not None:
        return existing
    dossier = Dossier.objects.select_related("procedure", "agency", "received_by").get(pk=dossier_id)
    if dossier.code is None:
        raise ValueError("a receipt exists only for a received dossier")
    pdf = render_pdf(
        RECEIPT_TEMPLATE,
        {
            "dossier": dossier,
            "documents": list(dossier.documents.all()),
            "received_local": timezone.localtime(dossier.received_at),
            "due_local": timezone.localtime(dossier.due_at),
            "clerk_name": person_name(dossier.received_by),
            "now_local": timezone.localtime(),
        },
    )
    document = OfficialDocument(
        dossier=dossier,
        kind=OfficialDocument.Kind.RECEIPT,
        template_version=RECEIPT_TEMPLATE_VERSION,
        sha256=hashlib.sha256(pdf).hexdigest(),
    )
    try:
        with transaction.atomic():
            document.file.save(f"{dossier.code}-BM01.pdf", ContentFile(pdf), save=True)
    except IntegrityError:  # another worker rendered it first: keep theirs
        document.file.delete(save=False)
        return OfficialDocument.objects.get(dossier_id=dossier_id, kind=OfficialDocument.Kind.RECEIPT)
    return document
