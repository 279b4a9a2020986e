"""Sign official PDFs (PAdES baseline B-B with pyHanko) and verify them.

The signer is an interface: the default loads the agency's key from a PKCS#12 file named by
settings; a hardware token (PKCS#11) or a remote-signing service can replace it by setting
`DOCUMENT_SIGNING_BACKEND` to another class with the same `sign_pdf` method.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


def _run_outside_event_loop(call):
    """Run CALL, which uses asyncio.run inside (pyHanko's sync API), even under a running loop.

    pyHanko's synchronous functions start their own event loop; where one already runs in this
    thread (an ASGI server, Playwright's sync API in tests) they fail, so run them in a thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


class SigningError(Exception):
    """The document could not be signed (missing or unreadable key, broken PDF)."""


class DocumentSigner(Protocol):
    def sign_pdf(self, pdf: bytes, *, field_name: str, reason: str, location: str = "") -> bytes:
        """Return PDF with an added signature."""
        ...

    def certificate_pem(self) -> bytes:
        """Return the signer's certificate (PEM), for verification pages and trust stores."""
        ...


class Pkcs12Signer:
    """Sign with a key and certificate held in a PKCS#12 file."""

    def __init__(self, *, path: Path, passphrase: bytes | None) -> None:
        from pyhanko.sign import signers

        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SigningError(f"cannot read the signing key file {path}: {exc.strerror}") from exc
        try:
            self._signer = signers.SimpleSigner.load_pkcs12_data(data, other_certs=(), passphrase=passphrase)
        except ValueError as exc:
            raise SigningError("the signing key file cannot be opened (wrong passphrase?)") from exc

    def certificate_pem(self) -> bytes:
        from asn1crypto import pem

        return pem.armor("CERTIFICATE", self._signer.signing_cert.dump())

    def sign_pdf(self, pdf: bytes, *, field_name: str, reason: str, location: str = "") -> bytes:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import signers

        try:
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
            meta = signers.PdfSignatureMetadata(field_name=field_name, reason=reason, location=location or None)
            out = _run_outside_event_loop(lambda: signers.sign_pdf(writer, meta, signer=self._signer))
        except Exception as exc:  # pyHanko raises many types for malformed input
            raise SigningError(f"the PDF could not be signed: {exc.__class__.__name__}") from exc
        return out.getvalue()


@cache
def get_signer() -> DocumentSigner:
    """Return the configured signer (built once per process)."""
    backend = import_string(settings.DOCUMENT_SIGNING_BACKEND)
    if backend is Pkcs12Signer:
        if not settings.DOCUMENT_SIGNING_PKCS12_PATH:
            raise ImproperlyConfigured(
                "Set DOCUMENT_SIGNING_PKCS12_PATH (run `manage.py signing_demo_key` for a demo key)."
            )
        passphrase = (
            settings.DOCUMENT_SIGNING_PKCS12_PASSPHRASE.encode()
            if settings.DOCUMENT_SIGNING_PKCS12_PASSPHRASE
            else None
        )
        return Pkcs12Signer(path=Path(settings.DOCUMENT_SIGNING_PKCS12_PATH), passphrase=passphrase)
    return backend()


@dataclass(frozen=True)
class Verification:
    signed: bool  # the document carries at least one signature
    intact: bool  # the signed bytes are unchanged
    valid: bool  # the signature is cryptographically valid for the certificate
    trusted: bool  # the certificate chains to a trusted root
    modified_after_signing: bool  # content was changed by a later incremental update
    signer: str  # the signer certificate's subject

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.valid and self.trusted and not self.modified_after_signing


def verify_pdf(pdf: bytes, *, trusted_certificates_pem: list[bytes]) -> Verification:
    """Verify every signature of PDF against the trusted certificates; report the weakest."""
    from asn1crypto import pem, x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    roots = []
    for blob in trusted_certificates_pem:
        _type, _headers, der = pem.unarmor(blob)
        roots.append(x509.Certificate.load(der))
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except Exception:  # not a readable PDF at all
        return Verification(False, False, False, False, True, "")
    if not signatures:
        return Verification(False, False, False, False, False, "")
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    results = []
    for embedded in signatures:
        try:
            status = _run_outside_event_loop(lambda: validate_pdf_signature(embedded, context))  # noqa: B023
        except Exception:  # a mangled signature is simply not valid
            return Verification(True, False, False, False, True, "")
        # Anything appended after signing, beyond long-term-validation data, counts as a change.
        untouched = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        lta_only = status.modification_level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)
        results.append(
            Verification(
                signed=True,
                intact=bool(status.intact),
                valid=bool(status.valid),
                trusted=bool(status.trusted),
                modified_after_signing=not (untouched or lta_only) or not status.docmdp_ok,
                signer=status.signing_cert.subject.human_friendly,
            )
        )
    return min(results, key=lambda v: (v.ok, v.intact, v.valid, v.trusted))


def demo_signing_key_create(*, path: Path, common_name: str, organisation: str, passphrase: str | None) -> None:
    """Write a self-signed demo signing key and certificate (PKCS#12) to PATH."""
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = cx509.Name(
        [
            cx509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            cx509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            cx509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        cx509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(cx509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            cx509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # non-repudiation: pyHanko requires it for document signatures
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    )
    blob = pkcs12.serialize_key_and_certificates(b"demo-signing-key", key, cert, None, encryption)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    path.chmod(0o600)
