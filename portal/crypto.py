"""Encrypt personal data at rest and hash it with a key for look-ups."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet() -> MultiFernet:
    keys = settings.PII_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("Set PII_ENCRYPTION_KEYS (comma-separated Fernet keys; the first encrypts).")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt(value: str) -> str:
    """Return the token for VALUE (authenticated encryption; the first key encrypts)."""
    return _fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """Return the plain text of TOKEN, trying every configured key."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise ValueError("Encrypted value cannot be decrypted with the configured keys.") from exc


def normalise(value: str) -> str:
    """Return VALUE in NFC with surrounding space removed, the form that is hashed."""
    return unicodedata.normalize("NFC", value or "").strip()


def pii_hash(value: str) -> str:
    """Return the keyed hash (HMAC-SHA256) of VALUE, for equality look-ups of encrypted data."""
    key = settings.PII_HASH_KEY.encode("utf-8")
    return hmac.new(key, normalise(value).encode("utf-8"), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; reads return plain text. Pair it with a keyed-hash column."""

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(normalise(value))
