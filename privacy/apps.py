from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = _("Personal data protection")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal import lockout  # noqa: F401  (connects the sign-in audit receivers)
