"""All settings, read from environment variables with safe defaults.

The embedded default (no variables set) runs on a SQLite file, a Celery broker on the filesystem
and the simulators on loopback. Production sets the variables listed in README.md.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from csp.constants import NONCE, SELF
from django.utils.translation import gettext_lazy as _

from portal.env import env, env_secret

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))

# --- GENERAL ---------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
# A fixed development key is only acceptable while DEBUG is on; production must set SECRET_KEY.
SECRET_KEY = env_secret("SECRET_KEY", default="dev-only-insecure-key-set-SECRET_KEY" if DEBUG else None)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_fsm",
    "django_htmx",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "portal",
    "integrations",
    "procedures",
    "citizens",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "portal.context_processors.portal",
            ],
        },
    },
]

# --- DATABASE --------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;", "timeout": 20}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- AUTH / allauth --------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:after-login"
LOGOUT_REDIRECT_URL = "portal:home"

# Staff sign in with a local username and password; citizens only through VNeID.
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "citizens.adapters.AccountAdapter"
ACCOUNT_USER_DISPLAY = "portal.people.person_name"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
SOCIALACCOUNT_ADAPTER = "citizens.adapters.SocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_ONLY = False

# VNeID (OpenID Connect). No public specification names the claims, so each is a setting.
VNEID_SERVER_URL = env("VNEID_SERVER_URL", default="http://127.0.0.1:8101")
VNEID_CLIENT_ID = env("VNEID_CLIENT_ID", default="mot-cua-portal")
VNEID_CLIENT_SECRET = env_secret("VNEID_CLIENT_SECRET", default="simulator-secret" if DEBUG else "")
VNEID_SUBJECT_CLAIM = env("VNEID_SUBJECT_CLAIM", default="sub")
VNEID_NATIONAL_ID_CLAIM = env("VNEID_NATIONAL_ID_CLAIM", default="so_dinh_danh")
VNEID_ASSURANCE_CLAIM = env("VNEID_ASSURANCE_CLAIM", default="acr")
VNEID_NAME_CLAIM = env("VNEID_NAME_CLAIM", default="name")
VNEID_BIRTHDATE_CLAIM = env("VNEID_BIRTHDATE_CLAIM", default="birthdate")
# Lowest electronic identification level accepted (domain.md §3.2: level 2 is verified in person).
VNEID_MIN_ASSURANCE_LEVEL = env("VNEID_MIN_ASSURANCE_LEVEL", default="2")
VNEID_SCOPES = env.list("VNEID_SCOPES", default=["openid", "profile"])
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": "vneid",
                "name": "VNeID",
                "client_id": VNEID_CLIENT_ID,
                "secret": VNEID_CLIENT_SECRET,
                "settings": {
                    "server_url": VNEID_SERVER_URL,
                    "token_auth_method": env("VNEID_TOKEN_AUTH_METHOD", default="client_secret_post"),
                    "fetch_userinfo": True,
                    "uid_field": VNEID_SUBJECT_CLAIM,
                    "scope": VNEID_SCOPES,
                },
            }
        ],
    }
}

# --- I18N ------------------------------------------------------------------------------------
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_TZ = True
LANGUAGE_COOKIE_NAME = "portal_language"
LANGUAGE_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- STATIC AND MEDIA ------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media-not-served/"  # files are served only through views that check access
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_STORAGE",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
FILE_UPLOAD_PERMISSIONS = 0o640

# --- SECURITY --------------------------------------------------------------------------------
SECURE_COOKIES = env.bool("SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

_vneid_origin = "{0.scheme}://{0.netloc}".format(urlsplit(VNEID_SERVER_URL))
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": ["'none'"],
        "base-uri": [SELF],
        "object-src": ["'none'"],
        # Chromium applies form-action to the redirect after the POST that starts VNeID sign-in.
        "form-action": [SELF, _vneid_origin],
    }
}

# --- DRF -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "portal.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Một cửa — Ministry of Health one-stop portal API",
    "DESCRIPTION": "Procedures, dossiers and the clerk workflow. Personal ID numbers travel in bodies only.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- CELERY ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "outbox-sweeper": {"task": "integrations.tasks.outbox_sweep_task", "schedule": 60.0},
}

# --- PORTAL ----------------------------------------------------------------------------------
MINISTRY_NAME = env("MINISTRY_NAME", default="Bộ Y tế")
PORTAL_NAME = env("PORTAL_NAME", default="Hệ thống thông tin giải quyết thủ tục hành chính")
# Dossier code (Circular 04/2025/TT-VPCP): owner digits AA of the centralised system's agency.
# The default agency code is the hypothetical example of domain.md §2.1, labelled illustrative.
DOSSIER_CODE_OWNER_DIGITS = env("DOSSIER_CODE_OWNER_DIGITS", default="18")
DOSSIER_CODE_MIN_SEQUENCE_DIGITS = 4
# Personal data: field encryption keys (first one encrypts; all decrypt) and the look-up hash key.
PII_ENCRYPTION_KEYS = env.list(
    "PII_ENCRYPTION_KEYS", default=["ZGV2LW9ubHktcGlpLWtleS0zMi1ieXRlcy1sb25nISE="] if DEBUG else []
)
PII_HASH_KEY = env_secret("PII_HASH_KEY", default="dev-only-pii-hash-key" if DEBUG else None)
AUDIT_IP_HEADER = env("AUDIT_IP_HEADER", default="")  # e.g. HTTP_X_FORWARDED_FOR behind a proxy
# Signing official documents (PAdES): a PKCS#12 file by default; `make run` creates a demo key.
# (Not SIGNING_BACKEND: Django already uses that name for signing cookies.)
DOCUMENT_SIGNING_BACKEND = env("DOCUMENT_SIGNING_BACKEND", default="portal.signing.Pkcs12Signer")
DOCUMENT_SIGNING_PKCS12_PATH = env(
    "DOCUMENT_SIGNING_PKCS12_PATH", default=str(VAR_DIR / "signing" / "demo-agency.p12") if DEBUG else ""
)
DOCUMENT_SIGNING_PKCS12_PASSPHRASE = env_secret("DOCUMENT_SIGNING_PKCS12_PASSPHRASE", default="")

# --- INTEGRATIONS ----------------------------------------------------------------------------
HTTP_CONNECT_TIMEOUT = env.float("HTTP_CONNECT_TIMEOUT", default=3.0)
HTTP_READ_TIMEOUT = env.float("HTTP_READ_TIMEOUT", default=10.0)
HTTP_RETRIES = env.int("HTTP_RETRIES", default=2)

# National public service portal (DVCQG) adapter; points at the simulator unless overridden.
NATIONAL_PORTAL_BACKEND = env("NATIONAL_PORTAL_BACKEND", default="integrations.national_portal.http.HttpNationalPortal")
NATIONAL_PORTAL_URL = env("NATIONAL_PORTAL_URL", default="http://127.0.0.1:8102")
NATIONAL_PORTAL_AUTH_PATH = env("NATIONAL_PORTAL_AUTH_PATH", default="/auth")
NATIONAL_PORTAL_INTEGRATION_PATH = env("NATIONAL_PORTAL_INTEGRATION_PATH", default="/integration")
NATIONAL_PORTAL_USERNAME = env("NATIONAL_PORTAL_USERNAME", default="mot-cua-byt")
NATIONAL_PORTAL_PASSWORD = env_secret("NATIONAL_PORTAL_PASSWORD", default="simulator-password" if DEBUG else "")
NATIONAL_PORTAL_AGENCY_CODE = env("NATIONAL_PORTAL_AGENCY_CODE", default="000.00.00.G18")
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=12)
OUTBOX_BACKOFF_BASE_SECONDS = env.float("OUTBOX_BACKOFF_BASE_SECONDS", default=10.0)
OUTBOX_BACKOFF_MAX_SECONDS = env.float("OUTBOX_BACKOFF_MAX_SECONDS", default=3600.0)

# Simulators that `make run` starts; /healthz reports on them.
SIMULATORS = {
    "vneid": VNEID_SERVER_URL,
    "national_portal": NATIONAL_PORTAL_URL,
}
HEALTHZ_CHECK_SIMULATORS = env.bool("HEALTHZ_CHECK_SIMULATORS", default=True)

# --- POPULATION GATEWAY ----------------------------------------------------------------------
# Population database (C06) adapter behind the one gateway (integrations/gateway.py, issue 5).
POPULATION_REGISTRY_BACKEND = env(
    "POPULATION_REGISTRY_BACKEND", default="integrations.population_registry.http.HttpPopulationRegistry"
)
POPULATION_REGISTRY_URL = env("POPULATION_REGISTRY_URL", default="http://127.0.0.1:8103")
POPULATION_REGISTRY_SERVICE_CODE = env("POPULATION_REGISTRY_SERVICE_CODE", default="033")  # MaDVC / MaDichVu
POPULATION_REGISTRY_INTEGRATION_CODE = env("POPULATION_REGISTRY_INTEGRATION_CODE", default="BYT-MOTCUA")  # MaTichHop
POPULATION_REGISTRY_UNIT_CODE = env("POPULATION_REGISTRY_UNIT_CODE", default="000.00.00.G18")  # MaDonVi
POPULATION_REGISTRY_TIMEOUT = env.float("POPULATION_REGISTRY_TIMEOUT", default=10.0)
POPULATION_REGISTRY_RETRIES = env.int("POPULATION_REGISTRY_RETRIES", default=2)
POPULATION_REGISTRY_BULK_SIZE = env.int("POPULATION_REGISTRY_BULK_SIZE", default=2000)
GATEWAY_CACHE_SECONDS = env.int("GATEWAY_CACHE_SECONDS", default=60)
GATEWAY_BREAKER_FAILURES = env.int("GATEWAY_BREAKER_FAILURES", default=5)
GATEWAY_BREAKER_RESET_SECONDS = env.float("GATEWAY_BREAKER_RESET_SECONDS", default=30.0)
# Header with the client certificate SHA-256 fingerprint, set by the TLS proxy (empty: certificates off).
GATEWAY_CLIENT_CERT_HEADER = env("GATEWAY_CLIENT_CERT_HEADER", default="")
GATEWAY_BULK_MAX_RECORDS = env.int("GATEWAY_BULK_MAX_RECORDS", default=1000)
RECONCILIATION_CHUNK_SIZE = env.int("RECONCILIATION_CHUNK_SIZE", default=2000)
RECONCILIATION_REQUEUE_SECONDS = env.int("RECONCILIATION_REQUEUE_SECONDS", default=600)
RECONCILIATION_MAX_RETRIES = env.int("RECONCILIATION_MAX_RETRIES", default=5)
SIMULATORS["population_registry"] = POPULATION_REGISTRY_URL
CELERY_IMPORTS = ("integrations.reconciliation_tasks",)
CELERY_BEAT_SCHEDULE["reconciliation-sweeper"] = {
    "task": "integrations.reconciliation_tasks.reconciliation_sweep_task",
    "schedule": 60.0,
}
# --- END POPULATION GATEWAY ------------------------------------------------------------------

# --- NATIONAL PORTAL -------------------------------------------------------------------------
# Outbox relay batching and leases, daily reconciliation with DVCQG (issue 8; docs/decisions/0003).
from celery.schedules import crontab  # noqa: E402  (kept inside this block)

OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=50)  # records per DVCQG call (the simulator takes 100)
OUTBOX_LEASE_SECONDS = env.float("OUTBOX_LEASE_SECONDS", default=0.0)  # 0: CELERY_TASK_TIME_LIMIT + 60 s
OUTBOX_DRAIN_SECONDS = env.float("OUTBOX_DRAIN_SECONDS", default=5.0)  # a task keeps taking due batches this long
NATIONAL_PORTAL_RECONCILE_CONCURRENCY = env.int("NATIONAL_PORTAL_RECONCILE_CONCURRENCY", default=4)
NATIONAL_PORTAL_RECONCILE_HOURS = env.int("NATIONAL_PORTAL_RECONCILE_HOURS", default=24)
CELERY_BEAT_SCHEDULE["national-portal-reconciliation"] = {
    "task": "integrations.tasks.national_portal_reconcile_task",
    "schedule": crontab(hour=2, minute=30),  # daily, in CELERY_TIMEZONE; covers the previous 24 h
}
# --- END NATIONAL PORTAL ---------------------------------------------------------------------

# --- LOGGING ---------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "weasyprint": {"level": "WARNING"},
        "weasyprint.progress": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# --- CATALOGUE --- (issue 3: procedure catalogue and administrative units)
INSTALLED_APPS += ["places"]  # administrative units after the 2025 reform, legacy units, old->new mapping
