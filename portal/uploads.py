"""The one upload-checking service: every file the portal accepts goes through here (security.md T12–T16).

Callers: applicant drafts and supplements (citizens.apply), the one-page application and the API
(procedures.forms), counter intake (procedures.views_counter), inbound national-portal attachments
(procedures.inbound), reconciliation files (integrations.reconciliation_views) and the catalogue import
(procedures.admin). Decisions 0054 (checks, limits, storage, downloads) and 0055 (antivirus, fail closed).

- ``check_upload``: documents (PDF, JPEG, PNG): size, type by content with the extension agreeing, no archive,
  PDFs without active content (JavaScript, launch actions, embedded files, XFA…), not encrypted, parseable;
  images decoded under a pixel bound and re-encoded without metadata; the name cleaned; the antivirus scan.
- ``check_table_upload``: CSV, JSON and XLSX files of staff imports; XLSX (a zip) checked for bombs, path
  traversal and links before anything opens it.
- ``UploadLimitMiddleware`` and ``BoundedUploadHandler``: a request body over the limit is answered 413
  before it is read; a file over the per-file limit is counted, not stored.
- ``attachment_response``: how an uploaded file is served (attachment, nosniff, CSP sandbox).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import socket
import stat
import struct
import unicodedata
import uuid
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, Any
from urllib.parse import quote, urlsplit

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.db import models, transaction
from django.http import FileResponse, Http404, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from filetype.types import ARCHIVE as ARCHIVE_TYPES
from filetype.types import DOCUMENT as DOCUMENT_TYPES

logger = logging.getLogger(__name__)

# What each accepted document type must look like inside, whatever its name says.
ACCEPTED = {
    "application/pdf": {".pdf"},
    "image/jpeg": {".jpg", ".jpeg"},
    "image/png": {".png"},
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TABLE_TYPES = {
    "text/csv": {".csv", ".txt"},
    "application/json": {".json"},
    XLSX: {".xlsx"},
}
ARCHIVE_SUFFIXES = {
    ".zip", ".rar", ".7z", ".gz", ".tgz", ".bz2", ".xz", ".tar", ".zst", ".lz", ".lz4", ".cab", ".jar",
    ".apk", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".epub", ".iso",
}  # fmt: skip
_ARCHIVES = {t.mime for t in ARCHIVE_TYPES} | {t.mime for t in DOCUMENT_TYPES}
_EXECUTABLES = {"application/x-msdownload", "application/x-executable", "application/x-shockwave-flash"}

# PDF names that carry active content or hidden files: refused wherever they appear as a key or a value.
PDF_FORBIDDEN = {
    "/JavaScript", "/JS", "/Launch", "/EmbeddedFile", "/EmbeddedFiles", "/FileAttachment", "/RichMedia",
    "/XFA", "/AA", "/GoToE", "/ImportData", "/SubmitForm", "/Sound", "/Movie",
}  # fmt: skip
# The raw byte scan (before parsing) looks for the unambiguous ones, hex escapes (#4A) decoded.
_PDF_RAW_FORBIDDEN = {n.encode() for n in PDF_FORBIDDEN} - {b"/AA", b"/Sound", b"/Movie"}
_PDF_NAME = re.compile(rb"/[^\s/<>\[\]()%{}]{1,127}")
_PDF_MAX_OBJECTS = 200_000

# Names: control and format characters (bidi overrides U+202A–U+202E, isolates U+2066–U+2069, zero-width…)
# and characters that mean something to a shell, a header or a page.
_NAME_UNSAFE = re.compile(r'[<>:"/\\|?*;`$\x00-\x1f\x7f]')
NAME_MAX = 100


class ScanStatus(models.TextChoices):
    """The antivirus state of a stored upload. Staff see only clean (or, with no scanner configured, unscanned)."""

    CLEAN = "clean", gettext_lazy("Scanned: no virus found")
    UNSCANNED = "unscanned", gettext_lazy("Not scanned (no scanner configured)")
    PENDING = "pending", gettext_lazy("Waiting for the virus scan")
    INFECTED = "infected", gettext_lazy("Virus found: quarantined")


STAFF_VISIBLE = (ScanStatus.CLEAN, ScanStatus.UNSCANNED)


class ScannedQuerySet(models.QuerySet):
    """Manager of the models that hold uploads (settings.UPLOAD_SCANNED_MODELS)."""

    def visible_to_staff(self) -> ScannedQuerySet:
        return self.filter(scan_status__in=STAFF_VISIBLE)


@dataclass(frozen=True)
class CheckedUpload:
    file: UploadedFile
    name: str
    content_type: str
    size: int
    sha256: str
    scan_status: str = ScanStatus.UNSCANNED


# --- names --------------------------------------------------------------------------------------------


def upload_name_clean(name: str | None, *, fallback: str = "document") -> str:
    """The name to show and to put in Content-Disposition: NFC, last path part only, no control, bidi or
    shell/markup characters, at most NAME_MAX characters with the extension kept."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"))
    text = _NAME_UNSAFE.sub("", text)
    text = " ".join(text.split()).strip(" .")
    stem, suffix = text.rsplit(".", 1) if "." in text else (text, "")
    suffix = f".{suffix[:10]}" if suffix else ""
    stem = stem[: NAME_MAX - len(suffix)].strip() or fallback
    return f"{stem}{suffix}"


def stored_name(filename: str) -> str:
    """A server-generated storage name (upload_to): a random UUID and the lower-case extension only."""
    suffix = PurePath(filename or "").suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
        suffix = ""
    return f"{uuid.uuid4().hex}{suffix}"


# --- limits -------------------------------------------------------------------------------------------


def _too_large(size: int, limit: int) -> ValidationError:
    return ValidationError(
        _("The file is too large (%(size)s); the limit is %(limit)s.")
        % {"size": filesizeformat(size), "limit": filesizeformat(limit)},
        code="too_large",
    )


def upload_quota_problem(*, existing_count: int, existing_bytes: int, size: int) -> str | None:
    """Why one more file of SIZE bytes does not fit in a dossier that holds EXISTING_* already (None: fits)."""
    if existing_count + 1 > settings.UPLOAD_MAX_DOSSIER_FILES:
        return _("A dossier holds at most %(count)s files; this one would be one too many.") % {
            "count": settings.UPLOAD_MAX_DOSSIER_FILES
        }
    if existing_bytes + size > settings.UPLOAD_MAX_DOSSIER_BYTES:
        return _("The dossier's files would exceed %(limit)s in total.") % {
            "limit": filesizeformat(settings.UPLOAD_MAX_DOSSIER_BYTES)
        }
    return None


class OversizedUpload(UploadedFile):
    """Stands for a file that went over the per-file limit while it arrived: counted, not kept."""

    def __init__(self, *, name: str, size: int, content_type: str | None, field_name: str | None) -> None:
        super().__init__(io.BytesIO(b""), name=name, content_type=content_type, size=size)
        self.field_name = field_name
        self.oversized = True


class BoundedUploadHandler(TemporaryFileUploadHandler):
    """Spool files to disk as Django does, but stop writing a file once it passes the per-file limit.

    The limit is the view's (set by UploadLimitMiddleware on the request) or settings.UPLOAD_MAX_BYTES. An
    oversized file becomes an OversizedUpload that check_upload refuses with its size: a clear error per
    file, and neither memory nor disk grows with what the client sends.
    """

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.limit = getattr(self.request, "upload_max_file_bytes", settings.UPLOAD_MAX_BYTES)
        self.received = 0
        self.over = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.over or self.received > self.limit:
            if not self.over:
                self.over = True
                self.file.truncate(0)
            return None
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if not self.over:
            return super().file_complete(file_size)
        self.file.close()  # a NamedTemporaryFile: closing removes it
        return OversizedUpload(
            name=self.file_name, size=self.received, content_type=self.content_type, field_name=self.field_name
        )


def table_uploads(view):
    """Mark a staff import view: its files may reach UPLOAD_TABLE_MAX_BYTES (checked by check_table_upload)."""
    view.upload_limit_kind = "table"
    return view


class UploadLimitMiddleware:
    """Answer 413 to a request whose declared body is over the view's limit, before anything reads it.

    Must come before CsrfViewMiddleware, whose process_view reads request.POST. Under WSGI the body is
    never read past CONTENT_LENGTH, so the declared length is what bounds it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "upload_limit_kind", "") == "table":
            limit = settings.UPLOAD_TABLE_MAX_BYTES + 1024 * 1024
            request.upload_max_file_bytes = settings.UPLOAD_TABLE_MAX_BYTES
        else:
            limit = settings.UPLOAD_MAX_REQUEST_BYTES
            request.upload_max_file_bytes = settings.UPLOAD_MAX_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            logger.warning("request body of %s bytes refused (limit %s): %s", length, limit, request.path)
            message = _("The files sent are too large (%(size)s); at most %(limit)s can be sent at once.") % {
                "size": filesizeformat(length),
                "limit": filesizeformat(limit),
            }
            response = HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
            response["Connection"] = "close"
            return response
        return None


# --- type by content ----------------------------------------------------------------------------------


def _read_all(upload: UploadedFile) -> bytes:
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    return data


def _accepted_label(accepted: set[str], table: dict[str, set[str]]) -> str:
    return ", ".join(sorted({ext.lstrip(".").upper() for t in accepted for ext in table[t]}))


def _refuse_archives_and_programs(detected: str | None, suffix: str) -> None:
    if detected in _EXECUTABLES or suffix in (".exe", ".dll", ".scr", ".com", ".bat", ".cmd", ".js", ".vbs", ".msi"):
        raise ValidationError(_("Programs are not accepted."), code="program")
    if detected in _ARCHIVES - {"application/pdf"} or suffix in ARCHIVE_SUFFIXES:
        raise ValidationError(
            _(
                "Archives and compressed files (ZIP, RAR, 7z, Office files…) are not accepted; "
                "upload each document as PDF, JPG or PNG."
            ),
            code="archive",
        )


def _size_check(upload: UploadedFile, limit: int) -> None:
    """Refuse an empty file or one over LIMIT (or cut off by the upload handler for being over it)."""
    size = upload.size or 0
    if getattr(upload, "oversized", False) or size > limit:
        raise _too_large(size, limit)
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")


def check_upload(
    upload: UploadedFile, *, accepted: set[str] | None = None, max_bytes: int | None = None, actor: Any = None
) -> CheckedUpload:
    """Return the upload once every check passes (the content to store may be a re-encoded copy); else raise
    ValidationError with a translated message for this file."""
    accepted = accepted or set(ACCEPTED)
    limit = min(max_bytes or settings.UPLOAD_MAX_BYTES, settings.UPLOAD_MAX_BYTES)
    _size_check(upload, limit)
    name = upload_name_clean(upload.name)
    suffix = PurePath(name).suffix.lower()
    data = _read_all(upload)
    kind = filetype.guess(data[:8192])
    detected = kind.mime if kind else None
    _refuse_archives_and_programs(detected, suffix)
    if detected not in accepted or (detected == "application/pdf" and not data.startswith(b"%PDF-")):
        raise ValidationError(
            _("The file's content is not an accepted type (%(types)s).")
            % {"types": _accepted_label(accepted, ACCEPTED)},
            code="bad_type",
        )
    if suffix not in ACCEPTED[detected]:
        raise ValidationError(
            _("The file name ends in “%(suffix)s” but its content is %(kind)s.")
            % {"suffix": suffix or "—", "kind": detected},
            code="name_mismatch",
        )
    if detected == "application/pdf":
        pdf_check(data)
        content = data
    else:
        content = image_reencode(data, detected)
        if len(content) > limit:
            raise _too_large(len(content), limit)
    status = _scan_or_refuse(content, name=name, actor=actor, hold=True)
    file = upload if content is data else SimpleUploadedFile(name, content, content_type=detected)
    file.seek(0)
    return CheckedUpload(
        file=file,
        name=name,
        content_type=detected,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        scan_status=status,
    )


def check_table_upload(
    upload: UploadedFile, *, suffixes: set[str], max_bytes: int | None = None, actor: Any = None
) -> CheckedUpload:
    """A staff import file: CSV or JSON (UTF-8 text) or XLSX (a zip, checked before anything opens it)."""
    limit = max_bytes or settings.UPLOAD_TABLE_MAX_BYTES
    _size_check(upload, limit)
    name = upload_name_clean(upload.name)
    suffix = PurePath(name).suffix.lower()
    accepted = {mime for mime, exts in TABLE_TYPES.items() if exts & suffixes}
    label = ", ".join(sorted(s.lstrip(".").upper() for s in suffixes))
    if suffix not in suffixes:
        raise ValidationError(_("Use a file of type %(types)s.") % {"types": label}, code="bad_type")
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    if suffix == ".xlsx":
        if kind is None or kind.mime not in ("application/zip", XLSX):
            raise ValidationError(_("The file is not a valid XLSX workbook."), code="bad_type")
        zip_check(upload, required={"[Content_Types].xml", "xl/workbook.xml"})
        content_type = XLSX
    else:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # a multi-byte character may be cut at the end of the head: decode what precedes it
            if exc.start < len(head) - 4:
                raise ValidationError(_("The file must be UTF-8 text."), code="bad_type") from exc
        if kind is not None or b"\x00" in head:
            raise ValidationError(_("The file must be UTF-8 text."), code="bad_type")
        content_type = "application/json" if suffix == ".json" else "text/csv"
    if content_type not in accepted:
        raise ValidationError(_("Use a file of type %(types)s.") % {"types": label}, code="bad_type")
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    status = _scan_or_refuse(upload, name=name, actor=actor, hold=False)
    upload.seek(0)
    return CheckedUpload(
        file=upload,
        name=name,
        content_type=content_type,
        size=upload.size,
        sha256=digest.hexdigest(),
        scan_status=status,
    )


# --- PDF ----------------------------------------------------------------------------------------------


def _pdf_name(raw: bytes) -> bytes:
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)


def _pdf_refuse(name: str) -> ValidationError:
    return ValidationError(
        _("The PDF contains active content or attached files (%(what)s); print it to a plain PDF and upload that.")
        % {"what": name.lstrip("/")},
        code="pdf_active",
    )


def _pdf_walk(obj: Any, found: set[str], depth: int = 0) -> None:
    from pyhanko.pdf_utils import generic

    if depth > 64:
        return
    if isinstance(obj, dict):  # DictionaryObject and StreamObject (its dictionary)
        for key, value in obj.items():
            found.add(str(key))
            _pdf_walk(value, found, depth + 1)
    elif isinstance(obj, list):
        for value in obj:
            _pdf_walk(value, found, depth + 1)
    elif isinstance(obj, generic.NameObject):
        found.add(str(obj))


def pdf_check(data: bytes) -> None:
    """Refuse a PDF that is encrypted, broken, a decompression bomb or carries active content."""
    for match in _PDF_NAME.finditer(data):
        if _pdf_name(match.group()) in _PDF_RAW_FORBIDDEN:
            raise _pdf_refuse(_pdf_name(match.group()).decode("latin-1"))
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.decode_limits import DecodeLimits, DocumentDecodeBudget, StreamDecodeLimits
    from pyhanko.pdf_utils.misc import PdfDecodeLimitError, PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    mib = 1024 * 1024
    limits = DecodeLimits(
        per_stream=StreamDecodeLimits(max_ratio=200, ratio_floor=mib, max_output_size=settings.UPLOAD_PDF_MAX_DECODED),
        document_budget=DocumentDecodeBudget(base_allowance=settings.UPLOAD_PDF_MAX_DECODED, max_ratio=20),
    )
    broken = ValidationError(
        _("The PDF cannot be read (it is damaged or incomplete); save or scan it again and upload the new file."),
        code="pdf_broken",
    )
    found: set[str] = set()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            end = data.rfind(b"%%EOF")  # bytes after the last %%EOF (some scanners add them) are not parsed
            body = data[: end + 5] if end > 0 else data
            reader = PdfFileReader(io.BytesIO(body), strict=False, decode_limits=limits)
            if reader.encrypted or "/Encrypt" in reader.trailer_view:
                raise ValidationError(
                    _("The PDF is encrypted or password-protected; upload a copy without a password."),
                    code="pdf_encrypted",
                )
            root = reader.root
            if not isinstance(root.get("/Pages"), generic.DictionaryObject) and "/Pages" not in root:
                raise broken
            _pdf_walk(reader.trailer_view, found)
            seen = 0
            for revision in range(reader.xrefs.total_revisions):
                for ref in reader.xrefs.explicit_refs_in_revision(revision):
                    seen += 1
                    if seen > _PDF_MAX_OBJECTS:
                        raise broken
                    try:
                        obj = reader.get_object(ref, revision=revision)
                    except (PdfError, KeyError, IndexError):
                        continue  # a freed or dangling entry: nothing a viewer shows
                    _pdf_walk(obj, found)
                    bad = found & PDF_FORBIDDEN
                    if bad:
                        raise _pdf_refuse(sorted(bad)[0])
    except ValidationError:
        raise
    except PdfDecodeLimitError as exc:
        raise ValidationError(
            _("The PDF holds more compressed data than a document can (a decompression bomb); it was refused."),
            code="pdf_bomb",
        ) from exc
    except (PdfError, ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError) as exc:
        raise broken from exc


# --- images -------------------------------------------------------------------------------------------


def image_reencode(data: bytes, mime: str) -> bytes:
    """Decode under the pixel bound and save again: EXIF (GPS…), comments and anything after the image go."""
    from PIL import Image, ImageOps

    max_pixels = settings.UPLOAD_IMAGE_MAX_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    bomb = ValidationError(
        _("The image is too large in pixels (at most %(count)s million); scan it at a lower resolution.")
        % {"count": max_pixels // 1_000_000},
        code="image_bomb",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels or width <= 0 or height <= 0:
                    raise bomb
                image.load()
                icc = image.info.get("icc_profile")  # colours only; everything else in info is dropped
                clean = ImageOps.exif_transpose(image)
                clean.info = {}
                out = io.BytesIO()
                if mime == "image/jpeg":
                    if clean.mode not in ("RGB", "L", "CMYK"):
                        clean = clean.convert("RGB")
                    clean.save(out, format="JPEG", quality=90, optimize=True, icc_profile=icc, comment=b"")
                else:
                    if clean.mode not in ("RGB", "RGBA", "L", "LA", "P", "1", "I;16"):
                        clean = clean.convert("RGBA")
                    clean.save(out, format="PNG", icc_profile=icc)
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise bomb from exc
    except (OSError, ValueError, SyntaxError, struct.error, MemoryError) as exc:
        raise ValidationError(
            _("The image cannot be read (it is damaged or incomplete); save or scan it again."), code="image_broken"
        ) from exc
    return out.getvalue()


# --- archives (XLSX only) -----------------------------------------------------------------------------


def zip_check(file: IO[bytes], *, required: set[str] = frozenset()) -> None:
    """Refuse a zip with too many entries, too much data once expanded, links, absolute or ../ paths, or
    encrypted entries, reading only its central directory (no entry is decompressed)."""
    refuse = ValidationError(_("The file is not a valid workbook or is unsafe to open."), code="archive_unsafe")
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise refuse from exc
    finally:
        file.seek(0)
    if len(entries) > settings.UPLOAD_ZIP_MAX_ENTRIES:
        raise ValidationError(_("The workbook has too many parts to be opened safely."), code="archive_bomb")
    total = 0
    names = set()
    for entry in entries:
        name = entry.filename
        parts = PurePath(name.replace("\\", "/")).parts
        if (
            name.startswith(("/", "\\"))
            or re.match(r"^[A-Za-z]:", name)
            or ".." in parts
            or "\x00" in name
            or stat.S_ISLNK(entry.external_attr >> 16)
            or entry.flag_bits & 0x1
        ):
            raise refuse
        total += entry.file_size
        ratio = entry.file_size / max(entry.compress_size, 1)
        if total > settings.UPLOAD_ZIP_MAX_EXPANDED or (entry.file_size > 1024 * 1024 and ratio > 200):
            raise ValidationError(
                _("The workbook expands to far more data than it holds (a zip bomb); it was refused."),
                code="archive_bomb",
            )
        names.add(name)
    if not required <= names:
        raise refuse


# --- antivirus (clamd INSTREAM) -----------------------------------------------------------------------


@dataclass(frozen=True)
class ScanResult:
    status: str  # ScanStatus value
    signature: str = ""


def _clamd_address() -> tuple[str, int] | None:
    url = settings.CLAMAV_URL.strip()
    if not url:
        return None
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    return parts.hostname or "127.0.0.1", parts.port or 3310


def av_scan(content: bytes | IO[bytes]) -> ScanResult:
    """Scan with clamd (INSTREAM). UNSCANNED when no scanner is configured, PENDING when it does not answer
    (fail closed: the caller holds or refuses the file), else CLEAN or INFECTED with the signature."""
    address = _clamd_address()
    if address is None:
        return ScanResult(ScanStatus.UNSCANNED)
    stream = io.BytesIO(content) if isinstance(content, bytes) else content
    stream.seek(0)
    try:
        with socket.create_connection(address, timeout=settings.CLAMAV_TIMEOUT) as conn:
            conn.sendall(b"zINSTREAM\0")
            while chunk := stream.read(64 * 1024):
                conn.sendall(struct.pack("!L", len(chunk)) + chunk)
            conn.sendall(struct.pack("!L", 0))
            reply = b""
            while not reply.endswith(b"\0") and len(reply) < 4096:
                part = conn.recv(4096)
                if not part:
                    break
                reply += part
    except OSError as exc:
        logger.warning("virus scanner unreachable: %s", exc)
        return ScanResult(ScanStatus.PENDING)
    finally:
        stream.seek(0)
    answer = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    if answer.endswith(" OK"):
        return ScanResult(ScanStatus.CLEAN)
    if answer.endswith(" FOUND"):
        return ScanResult(ScanStatus.INFECTED, answer.split(":", 1)[-1].removesuffix(" FOUND").strip()[:200])
    logger.warning("virus scanner answered %r", answer[:200])
    return ScanResult(ScanStatus.PENDING)


def _infected_record(*, name: str, sha256: str, signature: str, actor: Any = None, obj: Any = None) -> None:
    from portal.audit import audit_record

    with transaction.atomic():
        audit_record(
            action="upload.infected",
            actor=actor,
            obj=obj,
            data={"name": name, "sha256": sha256, "signature": signature},
        )


def _scan_or_refuse(content: bytes | IO[bytes], *, name: str, actor: Any, hold: bool) -> str:
    result = av_scan(content)
    if result.status == ScanStatus.INFECTED:
        if isinstance(content, bytes):
            sha = hashlib.sha256(content).hexdigest()
        else:
            sha = hashlib.file_digest(content, "sha256").hexdigest()
            content.seek(0)
        _infected_record(name=name, sha256=sha, signature=result.signature, actor=actor)
        raise ValidationError(
            _("The file contains a virus or malware (%(signature)s) and was refused.")
            % {"signature": result.signature},
            code="infected",
        )
    if result.status == ScanStatus.PENDING and not hold:
        raise ValidationError(
            _("The virus scanner is not available right now; try again in a few minutes."), code="scan_unavailable"
        )
    return result.status


def upload_scan_pending(*, batch: int = 200) -> dict[str, int]:
    """Scan again the stored uploads left "pending" while the scanner was down (the sweep task).

    Clean: visible. Infected: the file is moved to UPLOAD_QUARANTINE_ROOT, the row marked and audited
    against its dossier (or draft). Scanner still down: left pending for the next sweep.
    """
    from django.apps import apps

    counts = {"clean": 0, "infected": 0, "pending": 0}
    if _clamd_address() is None:
        return counts
    for label in settings.UPLOAD_SCANNED_MODELS:
        model = apps.get_model(label)
        for pk in list(model.objects.filter(scan_status=ScanStatus.PENDING).values_list("pk", flat=True)[:batch]):
            counts[_rescan_one(model, pk)] += 1
    return counts


def _rescan_one(model: type[models.Model], pk: int) -> str:
    document = model.objects.get(pk=pk)
    try:
        with document.file.open("rb") as handle:
            content = handle.read()
    except (FileNotFoundError, ValueError):
        logger.error("pending upload %s %s has no file", model._meta.label, pk)
        return "pending"
    result = av_scan(content)
    if result.status == ScanStatus.PENDING:
        return "pending"
    with transaction.atomic():
        document = model.objects.select_for_update().get(pk=pk)
        if document.scan_status != ScanStatus.PENDING:
            return "pending" if document.scan_status == ScanStatus.PENDING else str(document.scan_status)
        if result.status == ScanStatus.INFECTED:
            quarantine = settings.UPLOAD_QUARANTINE_ROOT
            quarantine.mkdir(parents=True, exist_ok=True, mode=0o700)
            target = quarantine / f"{uuid.uuid4().hex}.bin"
            target.write_bytes(content)
            target.chmod(0o600)
            document.file.delete(save=False)
            owner = getattr(document, "dossier", None) or getattr(document, "draft", None)
            from portal.audit import audit_record

            audit_record(
                action="upload.infected",
                obj=owner,
                data={
                    "document": f"{model._meta.label_lower}:{pk}",
                    "name": document.original_name,
                    "sha256": document.sha256,
                    "signature": result.signature,
                    "quarantine": target.name,
                },
            )
        model.objects.filter(pk=pk).update(scan_status=result.status)
    return "infected" if result.status == ScanStatus.INFECTED else "clean"


# --- downloads ----------------------------------------------------------------------------------------


def content_disposition(name: str) -> str:
    """attachment; an ASCII fallback name and the UTF-8 name (RFC 6266 / 5987)."""
    clean = upload_name_clean(name)
    ascii_name = (
        unicodedata.normalize("NFKD", clean).encode("ascii", "ignore").decode().replace('"', "").replace("\\", "")
    )
    return f"attachment; filename=\"{ascii_name or 'document'}\"; filename*=UTF-8''{quote(clean, safe='')}"


def attachment_response(field_file, *, name: str, content_type: str, scan_status: str | None = None) -> FileResponse:
    """Serve a stored upload after the caller checked access: never inline, never sniffed, sandboxed."""
    if scan_status is not None and scan_status not in (*STAFF_VISIBLE, ScanStatus.PENDING):
        raise Http404
    try:
        handle = field_file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    allowed = {t for types in (ACCEPTED, TABLE_TYPES) for t in types}
    served_type = content_type if content_type in allowed else "application/octet-stream"
    response = FileResponse(handle, content_type=served_type)
    response["Content-Disposition"] = content_disposition(name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response
