from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FacilitiesConfig(AppConfig):
    name = "facilities"
    verbose_name = _("Health facilities: birth certificates and death notices")

    def ready(self) -> None:
        # Register the interlinking delivery with the outbox relay (its registry is a plain dict).
        from facilities.delivery import TOPIC, interlinking_document_deliver
        from integrations.outbox_handlers import HANDLERS

        HANDLERS.setdefault(TOPIC, interlinking_document_deliver)
