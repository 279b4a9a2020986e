"""Online fee payment (domain.md §4.5): a PaymentProvider interface, an HTTP adapter and a simulator."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from integrations.payment.base import PaymentProvider


def get_payment_provider() -> PaymentProvider:
    return import_string(settings.PAYMENT_BACKEND)()
