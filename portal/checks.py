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
