from django.contrib import admin

from portal.models import AuditRecord


class ReadOnlyAdminMixin:
    """For records that are written by code only and kept as written (logs, reports, frozen versions)."""

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields or [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail is read-only everywhere, including here."""

    list_display = ("at", "actor_label", "action", "object_type", "object_id", "ip")
    list_filter = ("action",)
    search_fields = ("object_id", "actor_label", "request_id")
    date_hierarchy = "at"
