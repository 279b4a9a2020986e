"""Administrators configure the catalogue here; dossier state is read-only (services change it)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from portal.errors import ApplicationError
from procedures import services
from procedures.models import Agency, Dossier, DossierDocument, DossierEvent, Holiday, Procedure, StaffProfile


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "is_illustrative")
    search_fields = ("code", "name", "name_en")


@admin.register(Procedure)
class ProcedureAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "agency", "time_limit_days", "service_level", "is_published", "is_illustrative")
    list_filter = ("is_published", "service_level", "agency")
    search_fields = ("code", "name", "name_en")
    list_select_related = ("agency",)


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ("date", "name")
    date_hierarchy = "date"


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "agency", "role", "title")
    list_filter = ("role", "agency")
    raw_id_fields = ("user",)


class DossierDocumentInline(admin.TabularInline):
    model = DossierDocument
    extra = 0
    can_delete = False
    fields = ("title", "original_name", "content_type", "size", "sha256", "uploaded_at")
    readonly_fields = fields


class DossierEventInline(admin.TabularInline):
    model = DossierEvent
    extra = 0
    can_delete = False
    fields = ("at", "kind", "from_state", "to_state", "actor", "reason")
    readonly_fields = fields


@admin.register(Dossier)
class DossierAdmin(admin.ModelAdmin):
    list_display = ("reference", "code", "procedure", "agency", "state", "submitted_at", "due_at")
    list_filter = ("state", "agency", "channel")
    search_fields = ("reference", "code")
    list_select_related = ("procedure", "agency")
    raw_id_fields = ("applicant", "received_by")
    readonly_fields = (
        "reference",
        "code",
        "state",
        "procedure",
        "agency",
        "applicant",
        "channel",
        "submitted_at",
        "received_at",
        "received_by",
        "due_at",
        "rule_version",
    )
    exclude = ("applicant_national_id", "applicant_address")
    inlines = [DossierDocumentInline, DossierEventInline]
    actions = ["receive_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Receive the selected dossiers"))
    def receive_selected(self, request, queryset):
        done = 0
        for dossier in queryset.only("pk"):
            try:
                services.dossier_receive(dossier_id=dossier.pk, actor=request.user)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{dossier}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, _("%(n)d dossier(s) received.") % {"n": done}, messages.SUCCESS)
