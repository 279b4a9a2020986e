from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "quality"
    verbose_name = _("Service quality (Decision 766)")
    default_auto_field = "django.db.models.BigAutoField"
