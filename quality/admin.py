"""Yearly targets of the service-quality indicators (administrators); every change is audited."""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction

from portal.audit import audit_record
from quality.models import Target


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ("year", "indicator", "target", "source", "updated_at")
    list_filter = ("year", "indicator")
    ordering = ("-year", "indicator")

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                action="quality.target_change" if change else "quality.target_add",
                actor=request.user,
                obj=obj,
                data={"year": obj.year, "indicator": obj.indicator, "target": obj.target},
            )

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit_record(
                action="quality.target_delete",
                actor=request.user,
                obj=obj,
                data={"year": obj.year, "indicator": obj.indicator, "target": obj.target},
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
