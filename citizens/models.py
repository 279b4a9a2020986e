"""Citizens: the identity VNeID confirmed for each citizen account."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.crypto import EncryptedTextField


class CitizenProfile(models.Model):
    """A citizen's identity as VNeID last confirmed it; the personal ID number is encrypted at rest."""

    class Sex(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")

    class Source(models.TextChoices):
        VNEID = "vneid", _("VNeID")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="citizen_profile"
    )
    vneid_subject = models.CharField(_("VNeID subject"), max_length=255, unique=True)
    full_name = models.CharField(_("full name"), max_length=255)
    national_id = EncryptedTextField(_("personal identification number"))
    # Keyed hash of the number for look-ups; unique, because one person has one citizen account.
    national_id_hash = models.CharField(_("personal identification number hash"), max_length=64, unique=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    assurance_level = models.CharField(
        _("identification level"), max_length=16, help_text=_("VNeID electronic identification level, e.g. 2.")
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.VNEID)
    verified_at = models.DateTimeField(_("identity last verified at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("citizen profile")
        verbose_name_plural = _("citizen profiles")
        ordering = ["full_name", "pk"]

    def __str__(self) -> str:
        return self.full_name
