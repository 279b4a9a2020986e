"""Check an uploaded file by its content, size and type before anything is stored."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

# What each accepted type must look like inside, whatever its name says.
ACCEPTED = {
    "application/pdf": {".pdf"},
    "image/jpeg": {".jpg", ".jpeg"},
    "image/png": {".png"},
}


@dataclass(frozen=True)
class CheckedUpload:
    file: UploadedFile
    name: str
    content_type: str
    size: int
    sha256: str


def check_upload(upload: UploadedFile, *, accepted: set[str] | None = None) -> CheckedUpload:
    """Return the upload once its size, real type (magic bytes) and name agree; else raise ValidationError."""
    accepted = accepted or set(ACCEPTED)
    limit = settings.UPLOAD_MAX_BYTES
    if upload.size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    if upload.size > limit:
        raise ValidationError(
            _("The file is too large (%(size)s); the limit is %(limit)s.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            code="too_large",
        )
    upload.seek(0)
    head = upload.read(8192)
    kind = filetype.guess(head)
    detected = kind.mime if kind else None
    if detected not in accepted or (detected == "application/pdf" and not head.startswith(b"%PDF-")):
        raise ValidationError(
            _("The file's content is not an accepted type (%(types)s).")
            % {"types": ", ".join(sorted(ext.lstrip(".").upper() for t in accepted for ext in ACCEPTED[t]))},
            code="bad_type",
        )
    name = unicodedata.normalize("NFC", PurePath(upload.name or "document").name)
    suffix = PurePath(name).suffix.lower()
    if suffix not in ACCEPTED[detected]:
        raise ValidationError(
            _("The file name ends in “%(suffix)s” but its content is %(kind)s.")
            % {"suffix": suffix or "—", "kind": detected},
            code="name_mismatch",
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    safe_name = get_valid_filename(name)[-100:] or f"document{suffix}"
    return CheckedUpload(
        file=upload, name=safe_name, content_type=detected, size=upload.size, sha256=digest.hexdigest()
    )
