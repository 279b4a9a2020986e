# ruff: noqa
# Annotated samples for settings.yml (semgrep --test); never imported.
import environ

env = environ.Env()

# ruleid: django-debug-true
DEBUG = True
# ok: django-debug-true
DEBUG = env.bool("DEBUG", default=False)
