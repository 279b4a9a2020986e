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
    # A database that does not answer (down, black-holed) fails a request within this many seconds as a
    # 503 (portal.error_views.server_error) instead of holding a web worker (security.md T37).
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options.setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5))
    # A path that drops packets mid-query (no TCP acknowledgements) ends the connection after this many ms.
    _db_options.setdefault("tcp_user_timeout", env.int("DB_TCP_USER_TIMEOUT_MS", default=15000))
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
FILE_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024  # larger files are spooled to disk (portal.uploads, decision 0054)
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
    # One name per choice set shared by several serializers (facilities' documents).
    "ENUM_NAME_OVERRIDES": {
        "HealthDocumentFormEnum": "facilities.models.HealthDocument.Form",
        "HealthDocumentKindEnum": "facilities.models.HealthDocument.Kind",
        "ReissueReasonEnum": "facilities.models.HealthDocument.ReissueReason",
    },
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
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        # A Redis that stops answering (black-holed, SIGSTOPped) fails a publish within seconds instead of
        # holding the web request; the outbox sweeper re-publishes later (security.md T35, T37).
        "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=5.0),
        "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=3.0),
    }
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
    # Official slips whose follow-up task was lost (broker down when the transition committed).
    "official-documents-sweep": {"task": "procedures.tasks.official_documents_sweep_task", "schedule": 600.0},
}

# --- PORTAL ----------------------------------------------------------------------------------
MINISTRY_NAME = env("MINISTRY_NAME", default="Bộ Y tế")
PORTAL_NAME = env("PORTAL_NAME", default="Hệ thống thông tin giải quyết thủ tục hành chính")
# Dossier code (Circular 04/2025/TT-VPCP): owner digits AA of the centralised system's agency.
# The default agency code is the hypothetical example of domain.md §2.1, labelled illustrative.
DOSSIER_CODE_OWNER_DIGITS = env("DOSSIER_CODE_OWNER_DIGITS", default="18")
DOSSIER_CODE_MIN_SEQUENCE_DIGITS = 4
# Number a records clerk gives a result in the agency's book ({seq}, {year}, {agency}); illustrative
# default, since each agency keeps its own numbering of outgoing documents.
RESULT_NUMBER_FORMAT = env("RESULT_NUMBER_FORMAT", default="{seq}/{year}/KQ")
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

# --- NATIONAL PORTAL CATALOGUE AND INBOUND --- (issue 8; docs/decisions/0020-0022)
# Catalogue sync from the national TTHC database (LayDanhSachTTHC / LayThuTuc): off by default on
# the schedule; `manage.py sync_national_catalogue` and the admin button work either way.
NATIONAL_CATALOGUE_SYNC_ENABLED = env.bool("NATIONAL_CATALOGUE_SYNC_ENABLED", default=False)
NATIONAL_CATALOGUE_SYNC_HOUR = env.int("NATIONAL_CATALOGUE_SYNC_HOUR", default=3)
NATIONAL_CATALOGUE_SYNC_STALE_MINUTES = env.int("NATIONAL_CATALOGUE_SYNC_STALE_MINUTES", default=60)
if NATIONAL_CATALOGUE_SYNC_ENABLED:
    CELERY_BEAT_SCHEDULE["national-catalogue-sync"] = {
        "task": "procedures.tasks_national.national_catalogue_sync_task",
        "schedule": crontab(hour=NATIONAL_CATALOGUE_SYNC_HOUR, minute=15),
    }
# Inbound dossiers and ratings from the national portal (OUR protocol, docs/national-portal-inbound.md):
# HMAC-SHA256 signed POSTs; several secrets may be valid at once (rotation), any one verifies.
NATIONAL_PORTAL_INBOUND_SENDER = env("NATIONAL_PORTAL_INBOUND_SENDER", default="DVCQG")
_inbound_secrets = env_secret("NATIONAL_PORTAL_INBOUND_SECRETS", default="dev-only-inbound-secret" if DEBUG else "")
NATIONAL_PORTAL_INBOUND_SECRETS = [s.strip() for s in _inbound_secrets.split(",") if s.strip()]
NATIONAL_PORTAL_INBOUND_MAX_SKEW_SECONDS = env.int("NATIONAL_PORTAL_INBOUND_MAX_SKEW_SECONDS", default=300)
NATIONAL_PORTAL_INBOUND_MAX_BODY_BYTES = env.int("NATIONAL_PORTAL_INBOUND_MAX_BODY_BYTES", default=262144)
CELERY_IMPORTS = (*CELERY_IMPORTS, "procedures.tasks_national")  # the catalogue sync task (this block)
# --- END NATIONAL PORTAL CATALOGUE AND INBOUND ----------------------------------------------

# --- FACILITIES --- (issue 9: birth certificates and death notices from health facilities)
INSTALLED_APPS += ["facilities"]
# The national interlinking software (Decree 63/2024/NĐ-CP); the protocol is ours
# (docs/interlinking-protocol.md). Keep it configurable: from 1 Jan 2027 it moves into DVCQG.
INTERLINKING_URL = env("INTERLINKING_URL", default="http://127.0.0.1:8104")
INTERLINKING_TOKEN = env_secret("INTERLINKING_TOKEN", default="interlinking-simulator-token" if DEBUG else "")
INTERLINKING_SENDER_CODE = env("INTERLINKING_SENDER_CODE", default="BYT-MOTCUA")
INTERLINKING_TIMEOUT = env.float("INTERLINKING_TIMEOUT", default=10.0)
INTERLINKING_RETRIES = env.int("INTERLINKING_RETRIES", default=1)
SIMULATORS["interlinking"] = INTERLINKING_URL
# Field sets (facilities/standards.py): which one new documents use, which are accepted.
FACILITIES_BIRTH_STANDARD = env("FACILITIES_BIRTH_STANDARD", default="BYT-GCS-2025")
FACILITIES_DEATH_STANDARD = env("FACILITIES_DEATH_STANDARD", default="TT25-2025-M05")
FACILITIES_ACCEPTED_STANDARDS = env.list("FACILITIES_ACCEPTED_STANDARDS", default=["BYT-GCS-2025", "TT25-2025-M05"])
# Service levels and the time limits of both interlinked groups, per rule version (domain.md §8).
# Decree 63/2024's own start date is not in domain.md: the first version applies from the beginning.
# The step limits of both interlinked groups (domain.md §8); Decree 301/2026 kept them (none retrieved).
_INTERLINKED_GROUP_LIMITS = {
    "birth": {"total_working_days": 3, "with_verification_working_days": 5, "cutoff": "15:00"},
    "death": {
        "khai_tu_working_days": 0,
        "khai_tu_with_verification_working_days": 3,
        "remove_residence_working_days": 0,
        "bhxh_allowance_working_days": 8,
        "stop_monthly_survivor_allowance_working_days": 2,
        "funeral_support_working_days": 5,
        "meritorious_allowance_working_days": 17,
        "total_meritorious_working_days": 18,
        "total_social_protection_working_days": 6,
        "total_social_protection_80plus_working_days": 11,
        "total_bhxh_working_days": 9,
        "relatives_confirmation_working_days_not_counted": 5,
        "cutoff": "15:00",
    },
}
FACILITIES_RULE_VERSIONS = {
    "ND63-2024": {
        "valid_from": None,
        "source": "Decree 63/2024/NĐ-CP (Art. 25(1): signed data within 4 working hours [R])",
        "target": "interlinking software",
        "sync_minutes": 10,
        "ack_working_hours": 2,
        "signed_data_working_hours": 4,
        "group_limits": _INTERLINKED_GROUP_LIMITS,
    },
    "ND301-2026": {
        # Decree 301/2026 amends 63/2024: the target becomes DVCQG from 1 Sep 2026; the limits
        # themselves were not retrieved (domain.md §8) and are kept until an operator changes them.
        "valid_from": "2026-09-01",
        "source": "Decree 63/2024/NĐ-CP as amended by Decree 301/2026/NĐ-CP",
        "target": "national public service portal (DVCQG)",
        "sync_minutes": 10,
        "ack_working_hours": 2,
        "signed_data_working_hours": 4,
        "group_limits": _INTERLINKED_GROUP_LIMITS,
    },
}
CELERY_BEAT_SCHEDULE["facilities-service-levels"] = {
    "task": "facilities.tasks.facilities_service_levels_task",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["facilities-interlinking-poll"] = {
    "task": "facilities.tasks.facilities_interlinking_poll_task",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["facilities-reverify"] = {"task": "facilities.tasks.facilities_reverify_task", "schedule": 600.0}
# --- END FACILITIES ---------------------------------------------------------------------------

# --- APPLICANT PORTAL --- (issue 6: applicants, organisations, payment; docs/decisions/0034-0037)
# VNeID organisation accounts: the claims that mark one and carry the tax/enterprise code and name.
VNEID_ACCOUNT_TYPE_CLAIM = env("VNEID_ACCOUNT_TYPE_CLAIM", default="account_type")
VNEID_TAX_CODE_CLAIM = env("VNEID_TAX_CODE_CLAIM", default="ma_so_thue")
VNEID_ORGANISATION_NAME_CLAIM = env("VNEID_ORGANISATION_NAME_CLAIM", default="ten_to_chuc")
# Online payment (domain.md §4.5: not publicly specified; our adapter talks to the simulator by default).
PAYMENT_BACKEND = env("PAYMENT_BACKEND", default="integrations.payment.http.HttpPaymentProvider")
PAYMENT_URL = env("PAYMENT_URL", default="http://127.0.0.1:8105")
PAYMENT_MERCHANT_ID = env("PAYMENT_MERCHANT_ID", default="BYT-MOTCUA")
PAYMENT_API_KEY = env_secret("PAYMENT_API_KEY", default="simulator-payment-key" if DEBUG else "")
PAYMENT_CALLBACK_SECRET = env_secret("PAYMENT_CALLBACK_SECRET", default="simulator-callback-secret" if DEBUG else "")
PAYMENT_CALLBACK_MAX_AGE_SECONDS = env.int("PAYMENT_CALLBACK_MAX_AGE_SECONDS", default=600)
PAYMENT_TIMEOUT = env.float("PAYMENT_TIMEOUT", default=10.0)
SIMULATORS["payment"] = PAYMENT_URL
CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append("{0.scheme}://{0.netloc}".format(urlsplit(PAYMENT_URL)))
# Consent text version shown before the population-database look-up (Law 91/2025/QH15 Art. 9).
PREFILL_CONSENT_VERSION = env("PREFILL_CONSENT_VERSION", default="2026-01")
# One-time codes for email and phone.
CONTACT_CODE_TTL_SECONDS = env.int("CONTACT_CODE_TTL_SECONDS", default=900)
CONTACT_CODE_MAX_ATTEMPTS = env.int("CONTACT_CODE_MAX_ATTEMPTS", default=5)
# Answer time for feedback and recommendations, in working days. ILLUSTRATIVE default: set it to what the
# agency's regulation on handling phản ánh, kiến nghị says (not given in domain.md).
FEEDBACK_ANSWER_WORKING_DAYS = env.int("FEEDBACK_ANSWER_WORKING_DAYS", default=10)
# Files per checklist item in an online application.
APPLY_MAX_FILES_PER_ITEM = env.int("APPLY_MAX_FILES_PER_ITEM", default=5)
# Online dossiers submitted while the population database was down are verified again (citizens/tasks.py).
CELERY_IMPORTS = (*CELERY_IMPORTS, "citizens.tasks")
CELERY_BEAT_SCHEDULE["citizens-online-reverify"] = {
    "task": "citizens.tasks.online_identity_reverify_task",
    "schedule": 600.0,
}
# --- END APPLICANT PORTAL ---------------------------------------------------------------------

# --- OFFICIAL SLIPS --- (issue 4: slips and signed results; docs/decisions/0026-0027, docs/official-forms.md)
# Place printed beside the date on slips and results ("Hà Nội, ngày … tháng … năm …").
OFFICIAL_SLIP_PLACE = env("OFFICIAL_SLIP_PLACE", default="Hà Nội")
# Number format per rule version code and slip kind; otherwise "{sequence}/{suffix}-{unit}" (or
# "{sequence}/{unit}" when the rule version gives no suffix). Fields: sequence (per agency, kind and
# year), suffix, unit (RuleVersion.form_suffixes / unit_suffix), code (the dossier code), year, agency.
# Circular 01/2018 numbered the supplement request by the dossier code: "{MaHoSo}/HDHS" (domain.md §1.7.1).
OFFICIAL_SLIP_NUMBER_FORMATS = {
    "ND61-2018/TT01-2018": {"supplement_request": "{code}/{suffix}"},
}
# "Vào Sổ theo dõi hồ sơ, Quyển số …": one electronic book per sector and year (domain.md §1.7.2, BM.06).
OFFICIAL_SLIP_TRACKING_BOOK_FORMAT = env("OFFICIAL_SLIP_TRACKING_BOOK_FORMAT", default="{sector}/{year}")
# Earlier agency certificates (PEM files) still trusted when verifying results signed before a key change.
DOCUMENT_SIGNING_EXTRA_TRUSTED_PEM = env.list("DOCUMENT_SIGNING_EXTRA_TRUSTED_PEM", default=[])
# --- END OFFICIAL SLIPS ----------------------------------------------------------------------

# --- COUNTER --- (issue 7: counter intake and the tracking book; docs/decisions/0032-0033)
CELERY_IMPORTS = (*CELERY_IMPORTS, "procedures.tasks_counter")
# Dossiers received at the counter while the population database could not answer are verified
# again every COUNTER_REVERIFY_SECONDS (the task stops at the first "unavailable" answer).
COUNTER_REVERIFY_SECONDS = env.float("COUNTER_REVERIFY_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE["counter-identity-reverify"] = {
    "task": "procedures.tasks_counter.counter_identity_reverify_task",
    "schedule": COUNTER_REVERIFY_SECONDS,
}
# --- END COUNTER ------------------------------------------------------------------------------

# --- DEADLINE WATCH --- (issue 4: calendar, notifications and the deadline watch; docs/decisions/0028-0029)
# Email: Django's backend (console in development); SMS behind procedures.sms (console or HTTP gateway).
_default_email_backend = "console" if DEBUG else "smtp"
EMAIL_BACKEND = env("EMAIL_BACKEND", default=f"django.core.mail.backends.{_default_email_backend}.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
NOTIFY_FROM_EMAIL = env("NOTIFY_FROM_EMAIL", default="mot-cua@localhost")
NOTIFY_SEND_LEASE_SECONDS = env.int("NOTIFY_SEND_LEASE_SECONDS", default=300)
NOTIFY_SMS_ENABLED = env.bool("NOTIFY_SMS_ENABLED", default=True)
SMS_BACKEND = env("SMS_BACKEND", default="procedures.sms.ConsoleSmsBackend")  # or procedures.sms.HttpSmsBackend
SMS_HTTP_URL = env("SMS_HTTP_URL", default="")
SMS_HTTP_TOKEN = env_secret("SMS_HTTP_TOKEN", default="")
SMS_ASCII = env.bool("SMS_ASCII", default=True)  # strip diacritics: 160 GSM characters instead of 70 UCS-2
CELERY_IMPORTS = (*CELERY_IMPORTS, "procedures.tasks_watch")
CELERY_BEAT_SCHEDULE["deadline-watch"] = {
    "task": "procedures.tasks_watch.deadline_watch_task",
    "schedule": env.float("DEADLINE_WATCH_SECONDS", default=900.0),
}
# --- END DEADLINE WATCH -------------------------------------------------------------------------

# --- QUALITY --- (issue 10: Decision 766 service-quality dashboard; docs/decisions/0038-0040)
INSTALLED_APPS += ["quality"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The covering indexes (INCLUDE) of the fact table are PostgreSQL's; SQLite, the embedded
    # development default, builds them as plain indexes, which is all it needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
# The incremental refresh of the daily counters: how often, and how far back it looks again for
# changes that commit late or write no dossier event (delivery, rendered results, ratings, scans).
QUALITY_REFRESH_SECONDS = env.float("QUALITY_REFRESH_SECONDS", default=60.0)
QUALITY_REFRESH_OVERLAP_SECONDS = env.int("QUALITY_REFRESH_OVERLAP_SECONDS", default=600)
# Overdue backlog buckets, in working days past the due date (lower bounds).
QUALITY_BACKLOG_BUCKETS = env.list("QUALITY_BACKLOG_BUCKETS", cast=int, default=[0, 5, 10, 20])
CELERY_BEAT_SCHEDULE["quality-refresh"] = {
    "task": "quality.tasks.quality_refresh_task",
    "schedule": QUALITY_REFRESH_SECONDS,
}
# --- END QUALITY -------------------------------------------------------------------------------

# --- SECURITY BASELINE --- (issue 11, first part: docs/security.md, docs/decisions/0041-0044)
from datetime import timedelta  # noqa: E402  (kept inside this block)

INSTALLED_APPS += ["axes", "privacy"]
# Lockout after repeated failed sign-ins (security.md T01): django-axes, in the database (shared by all
# workers). Axes' own limit counts per [username, IP]; portal.lockout adds a per-IP and a per-username limit
# over the same window. A lockout always expires after the cool-off: never a permanent lockout of a victim.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", *AUTHENTICATION_BACKENDS]
AXES_HANDLER = "portal.lockout.PortalAxesHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)  # per [username, IP]
AXES_IP_FAILURE_LIMIT = env.int("AXES_IP_FAILURE_LIMIT", default=10)  # per IP, any usernames
AXES_USERNAME_FAILURE_LIMIT = env.int("AXES_USERNAME_FAILURE_LIMIT", default=25)  # per username, any IPs
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# Attempts during a lockout do not restart it: a lockout ends AXES_COOLOFF_TIME after it began.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "portal.lockout.client_ip_for_axes"  # the same address the audit trail records
AXES_SENSITIVE_PARAMETERS = ["username", "login", "ip_address", "password"]
AXES_VERBOSE = False  # axes' own log lines carry the username; our audit records carry a keyed hash
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as axes requires
# The correlation id first, so that every later middleware's log lines and errors carry it.
MIDDLEWARE.remove("portal.middleware.RequestContextMiddleware")
MIDDLEWARE.insert(0, "portal.middleware.RequestContextMiddleware")
# allauth's per-process (cache) failed-login limit is replaced by axes (database, all workers, audited).
ACCOUNT_RATE_LIMITS = {"login_failed": None}

# Sessions (security.md T03, T04): Django rotates the key at sign-in; these bound a session's life.
STAFF_SESSION_IDLE_SECONDS = env.int("STAFF_SESSION_IDLE_SECONDS", default=30 * 60)
STAFF_SESSION_ABSOLUTE_SECONDS = env.int("STAFF_SESSION_ABSOLUTE_SECONDS", default=12 * 3600)
# Applicants (citizens, organisations): a longer idle time is allowed; documented in docs/security.md.
APPLICANT_SESSION_IDLE_SECONDS = env.int("APPLICANT_SESSION_IDLE_SECONDS", default=60 * 60)
APPLICANT_SESSION_ABSOLUTE_SECONDS = env.int("APPLICANT_SESSION_ABSOLUTE_SECONDS", default=12 * 3600)
SESSION_COOKIE_AGE = max(STAFF_SESSION_ABSOLUTE_SECONDS, APPLICANT_SESSION_ABSOLUTE_SECONDS)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "portal.middleware.SessionTimeoutMiddleware",
)
# Behind HTTPS (SECURE_SSL_REDIRECT on) the cookies take the __Host- prefix: Secure, Path=/, no Domain.
if SECURE_COOKIES and SECURE_SSL_REDIRECT:
    SESSION_COOKIE_NAME = "__Host-portal_session"
    CSRF_COOKIE_NAME = "__Host-portal_csrftoken"

# Errors: generic pages with the correlation id (portal/error_views.py); logs as JSON lines with the
# request id, personal data scrubbed from every record (portal/logging.py).
LOG_FORMAT = env("LOG_FORMAT", default="plain" if DEBUG else "json")  # "json" or "plain"
# How long the log collector keeps log files (days). The portal writes to stdout only; the value is read by
# the deployment's journald/logrotate configuration (docs/operations.md) and shown on the admin index.
LOG_RETENTION_DAYS = env.int("LOG_RETENTION_DAYS", default=180)
LOGGING["filters"] = {
    "request_context": {"()": "portal.logging.RequestContextFilter"},
    "scrub_personal_data": {"()": "portal.logging.PersonalDataScrubFilter"},
}
LOGGING["formatters"]["plain"] = {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
LOGGING["formatters"]["json"] = {"()": "portal.logging.JsonFormatter"}
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT
LOGGING["handlers"]["console"]["filters"] = ["request_context", "scrub_personal_data"]
LOGGING["loggers"]["axes"] = {"level": "WARNING"}
CSRF_FAILURE_VIEW = "portal.error_views.csrf_failure"
# The worker keeps Django's LOGGING (filters included) instead of installing its own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Personal data (Law 91/2025/QH15, domain.md §9): data-subject requests, retention, breaches (privacy/).
# NOT CONFIRMED FOR THE 2025 LAW: both 72-hour limits come from Decree 13/2023 (domain.md §9.0, §9.1);
# keep them configurable until the Law 91/2025 / Decree 356/2025 deadlines are confirmed.
PRIVACY_REQUEST_DEADLINE_HOURS = env.int("PRIVACY_REQUEST_DEADLINE_HOURS", default=72)
PRIVACY_BREACH_NOTIFY_HOURS = env.int("PRIVACY_BREACH_NOTIFY_HOURS", default=72)
# Law 91/2025 Art. 16: 36 months after the subject's last interaction when no period can be determined.
PRIVACY_DEFAULT_RETENTION_MONTHS = env.int("PRIVACY_DEFAULT_RETENTION_MONTHS", default=36)
PRIVACY_ARCHIVE_ROOT = Path(env("PRIVACY_ARCHIVE_ROOT", default=str(VAR_DIR / "archive")))
PRIVACY_RETENTION_BATCH = env.int("PRIVACY_RETENTION_BATCH", default=500)
CELERY_IMPORTS = (*CELERY_IMPORTS, "privacy.tasks")
CELERY_BEAT_SCHEDULE["privacy-retention"] = {
    "task": "privacy.tasks.retention_sweep_task",
    "schedule": crontab(hour=env.int("PRIVACY_RETENTION_HOUR", default=1), minute=45),
}
# Backups (manage.py backup / restore; docs/operations.md).
BACKUP_DIR = Path(env("BACKUP_DIR", default=str(VAR_DIR / "backups")))
PG_BIN = env("PG_BIN", default="")  # folder of pg_dump/pg_restore; empty: the newest /usr/lib/postgresql/*/bin
# --- END SECURITY BASELINE --------------------------------------------------------------------

# --- NATIONAL PORTAL INBOUND ATTACHMENTS --- (issue 8; docs/decisions/0045)
import os  # noqa: E402  (kept inside this block)

# Files announced by inbound dossiers are downloaded only from these hosts (exact host names; anything
# else is refused before any request: no SSRF). Default: the simulator's host in DEBUG and tests only.
NATIONAL_PORTAL_ATTACHMENT_HOSTS = env.list(
    "NATIONAL_PORTAL_ATTACHMENT_HOSTS",
    default=(
        [urlsplit(NATIONAL_PORTAL_URL).hostname or "127.0.0.1"]
        if DEBUG or os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith(".test")
        else []
    ),
)
NATIONAL_PORTAL_ATTACHMENT_MAX_BYTES = env.int("NATIONAL_PORTAL_ATTACHMENT_MAX_BYTES", default=UPLOAD_MAX_BYTES)
NATIONAL_PORTAL_ATTACHMENT_TIMEOUT = env.float("NATIONAL_PORTAL_ATTACHMENT_TIMEOUT", default=30.0)
NATIONAL_PORTAL_ATTACHMENT_MAX_RETRIES = env.int("NATIONAL_PORTAL_ATTACHMENT_MAX_RETRIES", default=8)
NATIONAL_PORTAL_ATTACHMENT_RETRY_BASE_SECONDS = env.float("NATIONAL_PORTAL_ATTACHMENT_RETRY_BASE_SECONDS", default=30.0)
CELERY_BEAT_SCHEDULE["national-attachments-sweep"] = {
    "task": "procedures.tasks_national.national_attachments_sweep_task",
    "schedule": crontab(minute="*/15"),
}
# --- END NATIONAL PORTAL INBOUND ATTACHMENTS ------------------------------------------------

# --- WORKSPACE CACHE --- (issue 7; docs/decisions/0046)
# The workspace caches its tab counts briefly and every dossier transition makes them stale
# (procedures.queues.tab_counts). With several web or worker processes that cache must be shared for
# the staleness mark to reach them all: set CACHE_URL (e.g. redis://127.0.0.1:6379/2). Unset: Django's
# per-process memory cache (one process, tests, development); counts are then at most
# procedures.queues.TAB_COUNTS_TTL seconds behind changes made in another process.
if env.str("CACHE_URL", default=""):
    CACHES = {"default": env.cache_url("CACHE_URL")}
# --- END WORKSPACE CACHE --------------------------------------------------------------------

# --- RATE LIMITS --- (issues 6 and 11; docs/decisions/0063)
# django-ratelimit on the public and costly HTML routes (portal.ratelimits), DRF's throttles on the API.
# Each entry: "<count>/<period>" with s, m, h or d. Counters are in the default cache: production needs
# a shared one (CACHE_URL, Redis), deploy check portal.E006.
INSTALLED_APPS += ["django_ratelimit"]
RATELIMIT_VIEW = "portal.ratelimits.rate_limited"
# Turns django-ratelimit's Ratelimited (a PermissionDenied) into RATELIMIT_VIEW's 429; axes stays last.
MIDDLEWARE.insert(MIDDLEWARE.index("axes.middleware.AxesMiddleware"), "django_ratelimit.middleware.RatelimitMiddleware")
RATE_LIMITS = {
    # Public look-up by dossier code and receipt secret: per client address, and per dossier code
    # whoever asks (a guess at one dossier's secret spread over many addresses).
    "lookup-ip": env.str("RATE_LIMIT_LOOKUP_IP", default="20/10m"),
    "lookup-code": env.str("RATE_LIMIT_LOOKUP_CODE", default="10/h"),
    # Public QR verification pages of issued documents and results.
    "verify-ip": env.str("RATE_LIMIT_VERIFY_IP", default="60/m"),
    # Feedback and complaints (each becomes a tracked case with a legal answer time).
    "feedback-user": env.str("RATE_LIMIT_FEEDBACK_USER", default="10/h"),
}
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "rest_framework.throttling.AnonRateThrottle",
    "rest_framework.throttling.UserRateThrottle",
]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "anon": env.str("API_THROTTLE_ANON", default="120/min"),
    "user": env.str("API_THROTTLE_USER", default="1200/min"),
}
_cache_backend = globals().get("CACHES", {}).get("default", {}).get("BACKEND", "")
if _cache_backend in ("", "django.core.cache.backends.locmem.LocMemCache"):
    # One process (the demo, tests): its memory is the only cache there is. Production: portal.E006.
    SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "django_ratelimit.E003"]
# Django's own RedisCache is not in django-ratelimit's list, but its incr() is Redis INCR (atomic).
SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "django_ratelimit.W001"]
# --- END RATE LIMITS ------------------------------------------------------------------------

# --- TWO-FACTOR SIGN-IN --- (issue 11, security.md T06; docs/decisions/0050, 0051)
# Every staff account and every health-facility member signs in with a password AND a TOTP code
# (allauth.mfa). portal.two_factor.TwoFactorEnrolmentMiddleware sends such an account without an
# authenticator to the enrolment page and lets nothing else through. There is deliberately no setting that
# turns this off.
INSTALLED_APPS.insert(INSTALLED_APPS.index("allauth.account") + 1, "allauth.mfa")
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", default="Một cửa Bộ Y tế")
# One 30-second step either side for clock drift; a code is accepted once only (the last accepted step is
# kept in the database: portal.two_factor.totp_code_accept), so the tolerance does not open a replay window.
MFA_TOTP_TOLERANCE = 1
MFA_ADAPTER = "portal.two_factor.PortalMFAAdapter"
MFA_FORMS = {
    "authenticate": "portal.two_factor.AuthenticateForm",
    "reauthenticate": "portal.two_factor.ReauthenticateForm",
    "activate_totp": "portal.two_factor.ActivateTOTPForm",
}
MFA_TRUST_ENABLED = False  # no "trust this browser": the code is asked at every sign-in
# A wrong code counts as a failed sign-in in django-axes (same limits and cool-off as passwords, all
# workers); the code typed is masked in axes' records like the password.
AXES_SENSITIVE_PARAMETERS = [*AXES_SENSITIVE_PARAMETERS, "code"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("portal.middleware.SessionTimeoutMiddleware") + 1,
    "portal.two_factor.TwoFactorEnrolmentMiddleware",
)
# --- END TWO-FACTOR SIGN-IN -------------------------------------------------------------------

# --- UPLOADS --- (issue 11, security.md T12–T16; docs/decisions/0054, 0055; portal/uploads.py)
# Per file: UPLOAD_MAX_BYTES (above). Per request: a body declared larger is answered 413 before it is read
# (portal.uploads.UploadLimitMiddleware, before CSRF, which reads the body). Per dossier: count and total.
UPLOAD_MAX_DOSSIER_FILES = env.int("UPLOAD_MAX_DOSSIER_FILES", default=30)
UPLOAD_MAX_DOSSIER_BYTES = env.int("UPLOAD_MAX_DOSSIER_BYTES", default=50 * 1024 * 1024)
UPLOAD_MAX_REQUEST_BYTES = env.int("UPLOAD_MAX_REQUEST_BYTES", default=UPLOAD_MAX_DOSSIER_BYTES + 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("UPLOAD_MAX_FILES_PER_REQUEST", default=20)
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "portal.uploads.BoundedUploadHandler",
]
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.csrf.CsrfViewMiddleware"), "portal.uploads.UploadLimitMiddleware")
# Staff imports (reconciliation lists, catalogue): CSV/JSON/XLSX; an XLSX (zip) is checked before it is opened.
UPLOAD_TABLE_MAX_BYTES = env.int("UPLOAD_TABLE_MAX_BYTES", default=100 * 1024 * 1024)
UPLOAD_ZIP_MAX_ENTRIES = env.int("UPLOAD_ZIP_MAX_ENTRIES", default=2000)
UPLOAD_ZIP_MAX_EXPANDED = env.int("UPLOAD_ZIP_MAX_EXPANDED", default=500 * 1024 * 1024)
# Images are decoded under this pixel bound and re-encoded (metadata dropped); PDFs decoded under this budget.
UPLOAD_IMAGE_MAX_PIXELS = env.int("UPLOAD_IMAGE_MAX_PIXELS", default=50_000_000)
UPLOAD_PDF_MAX_DECODED = env.int("UPLOAD_PDF_MAX_DECODED", default=64 * 1024 * 1024)
# Antivirus: clamd over TCP (INSTREAM), e.g. tcp://clamav.internal:3310. Empty: not scanned (demo); production
# refuses to start without it (deploy check portal.E011). Scanner down: files are held "pending" (never shown
# to staff) and the sweep scans them again; an infected file is refused (or quarantined) and audited.
CLAMAV_URL = env.str("CLAMAV_URL", default="")
CLAMAV_TIMEOUT = env.float("CLAMAV_TIMEOUT", default=30.0)
UPLOAD_QUARANTINE_ROOT = Path(env("UPLOAD_QUARANTINE_ROOT", default=str(VAR_DIR / "quarantine")))
UPLOAD_SCANNED_MODELS = ["procedures.DossierDocument", "citizens.DraftDocument"]
CELERY_IMPORTS = (*CELERY_IMPORTS, "portal.tasks_uploads")
CELERY_BEAT_SCHEDULE["upload-scan-sweep"] = {
    "task": "portal.tasks_uploads.upload_scan_sweep_task",
    "schedule": crontab(minute="*/5"),
}
# --- END UPLOADS ----------------------------------------------------------------------------

# --- BROKER, TASK CONTEXT, AUDIT EXPORT --- (issue 11 second pass; docs/decisions/0057-0059)
# Redis (broker, results, cache) needs a password in production (security.md T25): an ACL user's password
# (redis://portal@host/0) or requirepass, given once as REDIS_PASSWORD (or REDIS_PASSWORD_FILE) and put into
# every redis:// or rediss:// URL above that has none. Deploy check portal.E058 refuses Redis without one.
from portal.env import url_with_password  # noqa: E402  (kept inside this block)

REDIS_PASSWORD = env_secret("REDIS_PASSWORD", default="")
CELERY_BROKER_URL = url_with_password(CELERY_BROKER_URL, REDIS_PASSWORD)
if CELERY_RESULT_BACKEND:
    CELERY_RESULT_BACKEND = url_with_password(CELERY_RESULT_BACKEND, REDIS_PASSWORD)
if isinstance(globals().get("CACHES", {}).get("default", {}).get("LOCATION"), str):
    CACHES["default"]["LOCATION"] = url_with_password(CACHES["default"]["LOCATION"], REDIS_PASSWORD)
# Daily export of the audit chain head (last id, hash, count, time) to a store outside the database
# (security.md T28): one JSON line appended per run to AUDIT_HEAD_EXPORT_DIR/audit-heads.jsonl. Production
# points it at storage the application cannot rewrite (another host's mount, append-only); `manage.py
# audit_verify --exported-heads` checks the chain against every exported head.
AUDIT_HEAD_EXPORT_DIR = Path(env("AUDIT_HEAD_EXPORT_DIR", default=str(VAR_DIR / "audit-heads")))
CELERY_IMPORTS = (*CELERY_IMPORTS, "portal.audit_export")
CELERY_BEAT_SCHEDULE["audit-head-export"] = {
    "task": "portal.audit_export.audit_head_export_task",
    "schedule": crontab(hour=env.int("AUDIT_HEAD_EXPORT_HOUR", default=0), minute=5),
}
# --- END BROKER, TASK CONTEXT, AUDIT EXPORT -------------------------------------------------

# --- PRIVATE PAGES NOT CACHED --- (issue 11; security.md T21, docs/decisions/0052)
# `Cache-Control: private, no-store` on every answer to a signed-in user or API caller and on the applicant
# paths (portal.middleware.PrivateNoStoreMiddleware), right after authentication so it sees request.user.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "portal.middleware.PrivateNoStoreMiddleware",
)
# --- END PRIVATE PAGES NOT CACHED ---------------------------------------------------------------
