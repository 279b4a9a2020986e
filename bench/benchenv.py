"""What every bench script shares: the real stack's settings from the environment, and percentiles.

Import it first: it puts the project on sys.path and sets bench-only secrets (DEBUG off), leaving
DATABASE_URL and the broker to the caller.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.base")
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("PII_ENCRYPTION_KEYS", "YmVuY2gtb25seS1waWkta2V5LTMyLWJ5dGVzLWxvISE=")
os.environ.setdefault("PII_HASH_KEY", "bench-only-pii-hash-key")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("STATICFILES_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage")


def percentile(values: list[float], q: float) -> float:
    """Return the Q-quantile (0..1) of VALUES, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def staff_login(client, user) -> None:
    """Sign USER in on CLIENT as the portal requires of staff: with an activated TOTP authenticator.

    force_login skips the password and code steps (not what is measured); without an authenticator the
    two-factor middleware would send every staff request to enrolment and the bench would time a redirect.
    """
    import base64
    import secrets

    from portal.two_factor import totp_enrol, totp_enrolled, two_factor_required

    if two_factor_required(user) and not totp_enrolled(user):
        totp_enrol(user=user, secret=base64.b32encode(secrets.token_bytes(20)).decode())
    client.force_login(user)
