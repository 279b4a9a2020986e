"""Render a facility document as a PDF (WeasyPrint, Liberation Serif) with its verification QR code."""

from __future__ import annotations

import base64
import datetime as dt
import io
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from facilities.models import HealthDocument
from facilities.standards import SEX_CHOICES, STANDARDS

TEMPLATES = {
    HealthDocument.Kind.BIRTH: "facilities/pdf/birth_certificate.html",
    HealthDocument.Kind.DEATH: "facilities/pdf/death_notice.html",
}

_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")


def _below_thousand(n: int, *, full: bool) -> str:
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    if full or hundreds:
        words += [_DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units and words:
            words.append("lẻ")
    elif tens == 1:
        words.append("mười")
    else:
        words += [_DIGITS[tens], "mươi"]
    if units:
        if units == 1 and tens >= 2:
            words.append("mốt")
        elif units == 5 and tens >= 1:
            words.append("lăm")
        elif units == 4 and tens >= 2:
            words.append("tư")
        else:
            words.append(_DIGITS[units])
    return " ".join(words)


def vietnamese_number_words(n: int) -> str:
    """Return N (0..999,999) in Vietnamese words, as written on civil documents."""
    if n < 0 or n >= 1_000_000:
        raise ValueError("out of range")
    if n == 0:
        return "không"
    thousands, rest = divmod(n, 1000)
    parts = []
    if thousands:
        parts += [_below_thousand(thousands, full=False), "nghìn"]
    if rest or not thousands:
        parts.append(_below_thousand(rest, full=bool(thousands)))
    return " ".join(p for p in parts if p)


def moment_in_words(value: str | None) -> str:
    """Return an ISO moment as 'X giờ Y phút, ngày D tháng M năm YYYY' in words (blank if unknown)."""
    if not value:
        return ""
    moment = timezone.localtime(dt.datetime.fromisoformat(value))
    text = (
        f"{vietnamese_number_words(moment.hour)} giờ {vietnamese_number_words(moment.minute)} phút, "
        f"ngày {vietnamese_number_words(moment.day)} tháng {vietnamese_number_words(moment.month)} "
        f"năm {vietnamese_number_words(moment.year)}"
    )
    return text[0].upper() + text[1:]


def verify_url(document: HealthDocument) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("facilities:verify", args=[document.verify_token])


def qr_data_uri(text: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    out = io.BytesIO()
    image.save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _display(document: HealthDocument) -> dict[str, Any]:
    data = dict(document.data)
    sexes = {code: str(label) for code, label in SEX_CHOICES}
    for key in ("child_sex", "deceased_sex"):
        if key in data:
            data[key + "_label"] = sexes.get(data[key], "")
    for key in ("mother_birth_date", "deceased_birth_date"):
        value = data.get(key) or ""
        data[key + "_vn"] = dt.date.fromisoformat(value).strftime("%d/%m/%Y") if len(value) == 10 else value
    for key in ("birth_at", "admitted_at", "died_at"):
        if data.get(key):
            data[key + "_local"] = timezone.localtime(dt.datetime.fromisoformat(data[key]))
            data[key + "_words"] = moment_in_words(data[key])
    return data


def render_document_pdf(document: HealthDocument) -> bytes:
    """Return the unsigned PDF of DOCUMENT (Vietnamese)."""
    from weasyprint import HTML  # imported here: the site boots without Pango, only PDFs need it

    with translation.override("vi"):
        html = render_to_string(
            TEMPLATES[document.kind],
            {
                "document": document,
                "facility": document.facility,
                "data": _display(document),
                "standard": STANDARDS[document.standard_version],
                "issued_local": timezone.localtime(document.issued_at),
                "qr": qr_data_uri(verify_url(document)),
                "verify_url": verify_url(document),
                "reissue": document.revision > 1,
            },
        )
    return HTML(string=html, base_url=None).write_pdf()
