from __future__ import annotations

import pytest
from django.test import override_settings

from portal import crypto


def test_encryption_round_trips_vietnamese_text_and_is_not_deterministic():
    a = crypto.encrypt("Nguyễn Thị Hồng Nhung")
    b = crypto.encrypt("Nguyễn Thị Hồng Nhung")
    assert a != b
    assert crypto.decrypt(a) == "Nguyễn Thị Hồng Nhung"


def test_the_lookup_hash_is_keyed_and_normalised():
    decomposed = "Nguye\u0302\u0303n"  # the same name typed with combining marks
    assert crypto.pii_hash("001195012345") == crypto.pii_hash(" 001195012345 ")
    assert crypto.pii_hash("Nguyễn") == crypto.pii_hash(decomposed)
    with_default_key = crypto.pii_hash("001195012345")
    with override_settings(PII_HASH_KEY="another-key"):
        assert crypto.pii_hash("001195012345") != with_default_key


def test_keys_rotate_old_tokens_still_decrypt():
    from cryptography.fernet import Fernet

    old_key = Fernet.generate_key().decode()
    new_key = Fernet.generate_key().decode()
    crypto._fernet.cache_clear()
    try:
        with override_settings(PII_ENCRYPTION_KEYS=[old_key]):
            token = crypto.encrypt("001195012345")
        crypto._fernet.cache_clear()
        with override_settings(PII_ENCRYPTION_KEYS=[new_key, old_key]):
            assert crypto.decrypt(token) == "001195012345"
        crypto._fernet.cache_clear()
        with override_settings(PII_ENCRYPTION_KEYS=[new_key]), pytest.raises(ValueError, match="cannot be decrypted"):
            crypto.decrypt(token)
    finally:
        crypto._fernet.cache_clear()
