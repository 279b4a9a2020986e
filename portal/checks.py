"""System checks that stop a production start with missing secrets."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def pii_keys_configured(app_configs, **kwargs):
    errors = []
    if not settings.PII_ENCRYPTION_KEYS:
        errors.append(Error("PII_ENCRYPTION_KEYS is not set.", id="portal.E001"))
    elif any("ZGV2LW9ubHk" in k for k in settings.PII_ENCRYPTION_KEYS) and not settings.DEBUG:
        errors.append(Error("PII_ENCRYPTION_KEYS uses the development key.", id="portal.E002"))
    if settings.PII_HASH_KEY.startswith("dev-only") and not settings.DEBUG:
        errors.append(Error("PII_HASH_KEY uses the development key.", id="portal.E003"))
    return errors


@register(Tags.security, deploy=True)
def vneid_over_https(app_configs, **kwargs):
    """allauth does not verify the VNeID id_token signature here: the TLS channel to VNeID is what vouches
    for the tokens and the userinfo, so production must reach VNeID over https (issue 11)."""
    from urllib.parse import urlsplit

    if settings.DEBUG or urlsplit(settings.VNEID_SERVER_URL).scheme == "https":
        return []
    return [
        Error(
            "VNEID_SERVER_URL must be an https:// URL in production.",
            hint="The VNeID tokens are trusted because they come over TLS from VNEID_SERVER_URL.",
            id="portal.E004",
        )
    ]


@register(Tags.security, deploy=True)
def lockout_expires(app_configs, **kwargs):
    """A sign-in lockout must end by itself (security.md T01): a permanent one lets anyone lock out a victim."""
    if getattr(settings, "AXES_COOLOFF_TIME", None):
        return []
    return [Error("AXES_COOLOFF_TIME is not set: lockouts would be permanent.", id="portal.E005")]


@register(Tags.security, deploy=True)
def shared_cache_for_rate_limits(app_configs, **kwargs):
    """Rate limits (and the lockout's companions) count in the default cache: with several processes a
    per-process memory cache would multiply every limit by the number of processes (decision 0063)."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if settings.DEBUG or backend in ("django.core.cache.backends.redis.RedisCache", "django_redis.cache.RedisCache"):
        return []
    return [
        Error(
            "The default cache is not shared between processes; rate limits would not hold.",
            hint="Set CACHE_URL to a Redis database (e.g. redis://:password@redis:6379/2).",
            id="portal.E006",
        )
    ]


@register(Tags.security, deploy=True)
def uploads_scanned_for_viruses(app_configs, **kwargs):
    """Every upload is scanned by clamd before staff see it (security.md T16, decision 0055): production
    without a scanner would accept files unscanned, so it does not start."""
    if settings.DEBUG or getattr(settings, "CLAMAV_URL", ""):
        return []
    return [
        Error(
            "CLAMAV_URL is not set: uploaded files would not be scanned for viruses.",
            hint="Run clamav-daemon and set CLAMAV_URL=tcp://host:3310.",
            id="portal.E011",
        )
    ]


@register(Tags.security, deploy=True)
def audit_guard_not_bypassed(app_configs, **kwargs):
    """The TRUNCATE guard of the audit tables lets the test runner's flush through in databases named
    test_* (decision 0057): production must never run on a database with such a name."""
    name = str(settings.DATABASES.get("default", {}).get("NAME") or "")
    if settings.DEBUG or not name.startswith("test_"):
        return []
    return [
        Error(
            f"The database name {name!r} starts with 'test_': the audit tables could be truncated.",
            hint="Rename the production database; 'test_' is reserved for the test runner.",
            id="portal.E057",
        )
    ]


def redis_urls_in_use() -> dict[str, str]:
    """The Redis URLs the settings use: broker, result backend, default cache (setting name -> URL)."""
    urls = {
        "CELERY_BROKER_URL": getattr(settings, "CELERY_BROKER_URL", "") or "",
        "CELERY_RESULT_BACKEND": getattr(settings, "CELERY_RESULT_BACKEND", "") or "",
        "CACHE_URL": str(settings.CACHES.get("default", {}).get("LOCATION", "") or ""),
    }
    return {name: url for name, url in urls.items() if url.startswith(("redis://", "rediss://"))}


@register(Tags.security, deploy=True)
def redis_needs_a_password(app_configs, **kwargs):
    """A production Redis (broker, results, cache) must be reached with a password, i.e. an ACL user or
    requirepass (security.md T25, decision 0058): without one anybody on the network can queue tasks or
    reset rate-limit counters."""
    from urllib.parse import urlsplit

    if settings.DEBUG:
        return []
    return [
        Error(
            f"{name} connects to Redis without a password.",
            hint="Set REDIS_PASSWORD (or REDIS_PASSWORD_FILE), or write redis://user:password@host/db; "
            "see docs/operations.md, 'Redis'.",
            id="portal.E058",
        )
        for name, url in redis_urls_in_use().items()
        if not urlsplit(url).password
    ]


# PostgreSQL settings without which an acknowledged submission can be lost in a crash (security.md T36).
DURABILITY_SETTINGS = {"fsync": {"on"}, "full_page_writes": {"on"}, "synchronous_commit": {"on", "remote_apply"}}


@register(Tags.database, deploy=True)
def database_durable(app_configs, databases=None, **kwargs):
    """fsync, synchronous_commit and full_page_writes must be on in production: with any of them off, a crash
    of PostgreSQL (or of its machine) can lose or corrupt commits the portal has already acknowledged.

    A database check: runs with `check --deploy --database default` (it needs the connection).
    """
    from django.db import connections

    errors = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        with connection.cursor() as cursor:
            for name, good in DURABILITY_SETTINGS.items():
                # nosemgrep: sql-built-from-strings  names from DURABILITY_SETTINGS (SHOW: no params)
                cursor.execute(f"SHOW {name}")  # a fixed name from the table above, not input
                value = str(cursor.fetchone()[0]).lower()
                if value not in good:
                    errors.append(
                        Error(
                            f"PostgreSQL ({alias}) runs with {name}={value}: acknowledged writes can be lost.",
                            hint=f"Set {name} = on in postgresql.conf (or ALTER SYSTEM) and reload.",
                            id="portal.E019",
                        )
                    )
    return errors
