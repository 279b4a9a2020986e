"""Each facility signs with its own key: its PKCS#12 file, or another signer class built with it."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

from facilities.models import Facility
from portal.signing import DocumentSigner, Pkcs12Signer, SigningError, demo_signing_key_create

_cache: dict[tuple, DocumentSigner] = {}
_lock = threading.Lock()


def facility_signer(facility: Facility) -> DocumentSigner:
    """Return the signer of FACILITY (cached per key file and its modification time)."""
    if facility.signing_backend:
        backend = import_string(facility.signing_backend)
        return backend(facility=facility)
    if not facility.signing_key_path:
        raise SigningError(f"facility {facility.code} has no signing key (run `manage.py facility_signing_key`)")
    path = Path(facility.signing_key_path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise SigningError(f"cannot read the signing key file of facility {facility.code}") from exc
    key = (facility.pk, str(path), stamp, facility.signing_key_passphrase)
    with _lock:
        signer = _cache.get(key)
        if signer is None:
            passphrase = facility.signing_key_passphrase.encode() if facility.signing_key_passphrase else None
            signer = Pkcs12Signer(path=path, passphrase=passphrase)
            _cache[key] = signer
        return signer


def facility_demo_key_create(*, facility: Facility, directory: Path | None = None) -> Path:
    """Create a self-signed demo key for FACILITY, store its path, passphrase and certificate."""
    directory = directory or Path(settings.VAR_DIR) / "signing" / "facilities"
    path = directory / f"facility-{facility.code}.p12"
    passphrase = secrets.token_urlsafe(18)
    demo_signing_key_create(
        path=path, common_name=f"{facility.name} (demo key)", organisation=facility.name, passphrase=passphrase
    )
    signer = Pkcs12Signer(path=path, passphrase=passphrase.encode())
    facility.signing_backend = ""
    facility.signing_key_path = str(path)
    facility.signing_key_passphrase = passphrase
    facility.certificate_pem = signer.certificate_pem().decode()
    facility.save(update_fields=["signing_backend", "signing_key_path", "signing_key_passphrase", "certificate_pem"])
    return path
