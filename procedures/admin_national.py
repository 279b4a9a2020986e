"""Admin for the national portal data: catalogue sync runs (with the "sync now" button), the sync
action on procedures, the national catalogue links, inbound submissions and service ratings."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from portal.errors import ApplicationError
from procedures.catalogue_sync import national_catalogue_sync
from procedures.models_national import CatalogueSyncRun, DossierRating, NationalCatalogueLink, NationalInboundSubmission


def _report_message(modeladmin, request, run: CatalogueSyncRun) -> None:
    level = {
        CatalogueSyncRun.Status.SUCCEEDED: messages.SUCCESS,
        CatalogueSyncRun.Status.PARTIAL: messages.WARNING,
    }.get(run.status, messages.ERROR)
    text = _(
        "Synchronisation with the national procedure database: %(created)d created, %(updated)d updated, "
        "%(unchanged)d unchanged, %(failed)d failed."
    ) % {"created": run.created, "updated": run.updated, "unchanged": run.unchanged, "failed": run.failed}
    if run.error:
        text = f"{text} {run.error}"
    modeladmin.message_user(request, text, level)
    for item in run.items:
        if item["outcome"] == "failed":
            modeladmin.message_user(request, f"{item['code']}: {item['reason']}", messages.ERROR)


@admin.action(description=_("Synchronise the selected procedures with the national database"))
def national_sync_selected(modeladmin, request, queryset):
    """Procedure admin action: sync the selected codes now."""
    if not request.user.has_perm("procedures.change_procedure"):
        raise PermissionDenied
    try:
        run = national_catalogue_sync(
            trigger=CatalogueSyncRun.Trigger.ADMIN,
            actor=request.user,
            codes=list(queryset.values_list("code", flat=True)),
        )
    except ApplicationError as exc:
        modeladmin.message_user(request, exc.message, messages.ERROR)
        return
    _report_message(modeladmin, request, run)


@admin.register(CatalogueSyncRun)
class CatalogueSyncRunAdmin(admin.ModelAdmin):
    change_list_template = "procedures/national_sync_change_list.html"
    list_display = ("started_at", "trigger", "actor", "status", "listed", "created", "updated", "unchanged", "failed")
    list_filter = ("status", "trigger")
    readonly_fields = [f.name for f in CatalogueSyncRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("run/", self.admin_site.admin_view(self.run_view), name="procedures_cataloguesyncrun_run"),
            *super().get_urls(),
        ]

    def run_view(self, request):
        """POST: synchronise the whole catalogue now (CSRF-protected by the admin site)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("procedures.change_procedure"):
            raise PermissionDenied
        try:
            run = national_catalogue_sync(trigger=CatalogueSyncRun.Trigger.ADMIN, actor=request.user)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:procedures_cataloguesyncrun_changelist"))
        _report_message(self, request, run)
        return HttpResponseRedirect(reverse("admin:procedures_cataloguesyncrun_change", args=[run.pk]))


@admin.register(NationalCatalogueLink)
class NationalCatalogueLinkAdmin(admin.ModelAdmin):
    list_display = ("procedure", "last_synced_at", "missing_since", "local_overrides")
    search_fields = ("procedure__code", "procedure__name")
    readonly_fields = ("procedure", "last_synced_at", "last_digest", "last_record", "missing_since")
    list_select_related = ("procedure",)

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        from django.db import transaction

        from portal.audit import audit_record

        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                action="procedure.national_overrides",
                actor=request.user,
                obj=obj.procedure,
                data={"local_overrides": obj.local_overrides},
            )


@admin.register(NationalInboundSubmission)
class NationalInboundSubmissionAdmin(admin.ModelAdmin):
    list_display = ("national_reference", "dossier", "sender", "received_at", "duplicates", "files_status")
    search_fields = ("national_reference", "dossier__reference", "dossier__code")
    readonly_fields = [f.name for f in NationalInboundSubmission._meta.fields]
    list_select_related = ("dossier",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DossierRating)
class DossierRatingAdmin(admin.ModelAdmin):
    list_display = ("dossier", "source", "score", "rated_at")
    list_filter = ("source", "score")
    search_fields = ("dossier__reference", "dossier__code")
    readonly_fields = [f.name for f in DossierRating._meta.fields]
    list_select_related = ("dossier",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
