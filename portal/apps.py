from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal kernel")

    def ready(self) -> None:
        from django.contrib import admin

        from . import checks, two_factor  # noqa: F401  (checks registers system checks; two_factor its receivers)

        # The admin has no password-only sign-in: it goes through allauth's, which asks for the TOTP code.
        admin.site.login = two_factor.admin_login
