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
