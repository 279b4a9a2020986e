"""Test settings: only speed and safety overrides on top of base."""

import os
import tempfile

from portal.env import env

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("PII_ENCRYPTION_KEYS", "dGVzdC1vbmx5LXBpaS1rZXktMzItYnl0ZXMtbG9uZyE=")
os.environ.setdefault("PII_HASH_KEY", "test-only-pii-hash-key")
os.environ.setdefault("NATIONAL_PORTAL_PASSWORD", "simulator-password")
os.environ.setdefault("VNEID_CLIENT_SECRET", "simulator-secret")
os.environ.setdefault("PORTAL_VAR_DIR", tempfile.mkdtemp(prefix="portal-test-"))

from .base import *  # noqa: F403
from .base import DATABASES, MIDDLEWARE, STORAGES, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Close connections after each request: live-server and worker tests must not leave any behind.
DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: the Celery worker that delivery tests start must open the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]
# Unit and service tests run tasks inline; delivery tests start a real worker on Redis (eager off).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
HEALTHZ_CHECK_SIMULATORS = False
OUTBOX_BACKOFF_BASE_SECONDS = env.float("OUTBOX_BACKOFF_BASE_SECONDS", default=0.0)
