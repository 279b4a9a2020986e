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
