"""Read settings from the environment, loudly: a malformed value stops start-up."""

from __future__ import annotations

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()


def env_secret(name: str, default: str | None = None) -> str:
    """Return NAME, or the contents of the file named by NAME_FILE (Docker/K8s secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:  # a named secret that cannot be read is a configuration error
            raise ImproperlyConfigured(f"{name}_FILE={file_name}: {exc}") from exc
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Set the {name} environment variable.")
    return value


def url_with_password(url: str, password: str) -> str:
    """Return URL with PASSWORD in it unless it has one already (Redis: ACL user or requirepass).

    ``redis://host:6379/0`` becomes ``redis://:PASSWORD@host:6379/0``, ``redis://portal@host/0`` becomes
    ``redis://portal:PASSWORD@host/0``; the password is percent-encoded. Other URLs are returned unchanged.
    """
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(url)
    if not password or parts.scheme not in ("redis", "rediss") or parts.password:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))
