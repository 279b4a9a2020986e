"""Administrative units (provinces, districts, communes) with validity dates, and old -> new mapping.

Codes were reused by the 2025 reform (domain.md §4.8): 26740 was Phường Bến Nghé until 30 Jun
2025 and is Phường Sài Gòn since 1 Jul 2025. A unit is therefore identified by its code *and* its
generation, and every row carries valid_from / valid_to.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AdministrativeUnit(models.Model):
    class Level(models.TextChoices):
        PROVINCE = "province", _("Province")
        DISTRICT = "district", _("District")
        COMMUNE = "commune", _("Commune")

    class Generation(models.TextChoices):
        LEGACY = "legacy", _("Before 1 Jul 2025")
        REFORM_2025 = "2025", _("Since 1 Jul 2025")

    generation = models.CharField(_("generation"), max_length=10, choices=Generation.choices)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    code = models.CharField(_("code"), max_length=5)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=30, blank=True)
    parent_code = models.CharField(_("parent code"), max_length=5, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("administrative unit")
        verbose_name_plural = _("administrative units")
        ordering = ["generation", "level", "code"]
        constraints = [
            models.UniqueConstraint(fields=["generation", "level", "code"], name="uniq_admin_unit_generation_code")
        ]
        indexes = [models.Index(fields=["level", "code"], name="admin_unit_level_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class UnitMapping(models.Model):
    """An old unit's successor: whole (merged entirely), part (split), default (usual target of a split)."""

    class Relation(models.TextChoices):
        WHOLE = "whole", _("Whole")
        PART = "part", _("Part")
        DEFAULT = "default", _("Default target of a split")

    old_level = models.CharField(_("old level"), max_length=10, choices=AdministrativeUnit.Level.choices)
    old_code = models.CharField(_("old code"), max_length=5)
    new_code = models.CharField(_("new commune code"), max_length=5)
    relation = models.CharField(_("relation"), max_length=10, choices=Relation.choices)
    effective = models.DateField(_("effective"))

    class Meta:
        verbose_name = _("unit mapping")
        verbose_name_plural = _("unit mappings")
        ordering = ["old_level", "old_code", "new_code"]
        constraints = [models.UniqueConstraint(fields=["old_level", "old_code", "new_code"], name="uniq_unit_mapping")]
        indexes = [models.Index(fields=["old_code"], name="unit_mapping_old_code")]

    def __str__(self) -> str:
        return f"{self.old_code} -> {self.new_code} ({self.relation})"
