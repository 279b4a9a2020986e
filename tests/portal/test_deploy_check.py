"""T20: Django's deployment checklist passes with the production settings, warnings included.

`manage.py check --deploy` runs in a subprocess on portal.settings.base (not the test settings)
with the variables production sets, as `make deploy-check` does with docs/production.env.example.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parents[2]
# Only these come from the test process: the test settings and the root conftest set variables
# (SECRET_KEY, DJANGO_ALLOW_ASYNC_UNSAFE, ...) that a production start must not inherit.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "DATABASE_URL")


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """Return the environment of a production start, with fresh random secrets."""
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings.base",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="motcua.moh.gov.vn",
        PII_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        PII_HASH_KEY=secrets.token_urlsafe(48),
        SECURE_SSL_REDIRECT="true",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_PRELOAD="true",
        SECURE_COOKIES="true",
        VNEID_CLIENT_SECRET=secrets.token_urlsafe(32),
        NATIONAL_PORTAL_PASSWORD=secrets.token_urlsafe(32),
        REDIS_PASSWORD=secrets.token_urlsafe(32),  # any redis:// URL gets it (portal.E058)
        CACHE_URL="redis://redis.internal:6379/2",  # shared cache for rate limits (portal.E006)
        VNEID_SERVER_URL="https://vneid-oidc.example.gov.vn",
        CLAMAV_URL="tcp://clamav.internal:3310",
        PORTAL_VAR_DIR=str(tmp_path),
    )
    env.update(overrides)
    return env


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_deploy_check_passes_with_production_variables(tmp_path):
    result = check_deploy(production_env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_refuses_the_development_pii_key(tmp_path):
    # The check really runs (not a vacuous pass): the development key is caught by portal.E002.
    env = production_env(tmp_path, PII_ENCRYPTION_KEYS="ZGV2LW9ubHktcGlpLWtleS0zMi1ieXRlcy1sb25nISE=")

    result = check_deploy(env)

    assert result.returncode != 0
    assert "portal.E002" in result.stdout + result.stderr


def test_deploy_check_warns_without_hsts(tmp_path):
    result = check_deploy(production_env(tmp_path, SECURE_HSTS_SECONDS="0"))

    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr


def test_deploy_check_refuses_vneid_over_plain_http(tmp_path):
    # allauth does not check the id_token signature here; only TLS to VNeID vouches for the tokens.
    result = check_deploy(production_env(tmp_path, VNEID_SERVER_URL="http://vneid.example.gov.vn"))

    assert result.returncode != 0
    assert "portal.E004" in result.stdout + result.stderr


def test_deploy_check_accepts_vneid_over_https(tmp_path):
    result = check_deploy(production_env(tmp_path))

    assert "portal.E004" not in result.stdout + result.stderr


def production_settings(tmp_path, *names: str) -> dict:
    """Values of some settings as a production start computes them (portal.settings.base, DEBUG off)."""
    import json

    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=BASE_DIR,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_cookies_passwords_and_sessions(tmp_path):
    """T05 on the production settings (the test settings use a fast hasher)."""
    values = production_settings(
        tmp_path,
        "SESSION_COOKIE_NAME",
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_NAME",
        "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_HTTPONLY",
        "LANGUAGE_COOKIE_SECURE",
        "PASSWORD_HASHERS",
        "AXES_COOLOFF_TIME",
        "CELERY_ACCEPT_CONTENT",
        "CELERY_TASK_SERIALIZER",
        "LOG_FORMAT",
    )
    assert values["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert values["CSRF_COOKIE_NAME"].startswith("__Host-")
    assert values["SESSION_COOKIE_SECURE"] is values["CSRF_COOKIE_SECURE"] is values["LANGUAGE_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is values["CSRF_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert values["PASSWORD_HASHERS"][0] in {
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    }
    assert values["AXES_COOLOFF_TIME"] not in (None, "None")
    assert values["CELERY_ACCEPT_CONTENT"] == ["json"]
    assert values["CELERY_TASK_SERIALIZER"] == "json"
    assert values["LOG_FORMAT"] == "json"


def test_production_refuses_to_start_without_a_virus_scanner(tmp_path):
    """T16: every upload is scanned; without CLAMAV_URL production does not start (portal.E011)."""
    result = check_deploy(production_env(tmp_path, CLAMAV_URL=""))
    assert result.returncode == 1
    assert "portal.E011" in result.stderr + result.stdout


def test_production_refuses_a_per_process_cache(tmp_path):
    env = production_env(tmp_path)
    env.pop("CACHE_URL")
    result = check_deploy(env)
    assert result.returncode != 0 and "portal.E006" in result.stderr + result.stdout
