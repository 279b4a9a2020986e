"""Administrators configure the catalogue here; dossier state is read-only (services change it)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from portal.admin import ReadOnlyAdminMixin
from portal.errors import ApplicationError
from procedures import catalogue, services
from procedures.formschema import form_schema_fields
from procedures.models import (
    Agency,
    AgencyIdentifier,
    Dossier,
    DossierDocument,
    DossierEvent,
    Holiday,
    Procedure,
    ProcedureDocument,
    ProcedureFee,
    ProcedureStage,
    ProcedureVersion,
    StaffProfile,
)


class AgencyIdentifierFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        periods = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            start = form.cleaned_data.get("valid_from") or dt.date.min
            end = form.cleaned_data.get("valid_to") or dt.date.max
            for code, other_start, other_end in periods:
                if start <= other_end and other_start <= end:
                    raise forms.ValidationError(
                        _("Identifier %(code)s overlaps the validity period of %(other)s.")
                        % {"code": form.cleaned_data.get("code"), "other": code}
                    )
            periods.append((form.cleaned_data.get("code"), start, end))


class AgencyIdentifierInline(admin.TabularInline):
    model = AgencyIdentifier
    formset = AgencyIdentifierFormSet
    extra = 0


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "is_illustrative")
    search_fields = ("code", "name", "name_en", "identifiers__code")
    inlines = [AgencyIdentifierInline]


class StageFormSet(forms.BaseInlineFormSet):
    """Refuses stage budgets that add up to more than the procedure's time limit."""

    def clean(self):
        super().clean()
        budgets = [
            form.cleaned_data.get("budget")
            for form in self.forms
            if hasattr(form, "cleaned_data") and form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        error = catalogue.stage_budget_error(
            time_limit_days=self.instance.time_limit_days,
            time_limit_hours=self.instance.time_limit_hours,
            budgets=budgets,
        )
        if error:
            raise forms.ValidationError(error)


class ProcedureStageInline(admin.TabularInline):
    model = ProcedureStage
    formset = StageFormSet
    extra = 0


class ProcedureFeeInline(admin.StackedInline):
    model = ProcedureFee
    extra = 0
    fields = (("name", "name_en"), ("kind", "amount_vnd", "timing"), ("valid_from", "valid_to"), "exempt", "note")


class ProcedureDocumentInline(admin.StackedInline):
    model = ProcedureDocument
    extra = 0
    fields = (
        ("order", "required"),
        ("name", "name_en"),
        ("copy_type", "copies"),
        ("accepted_types", "max_size_mb"),
        ("template", "replaced_by"),
    )


class ProcedureVersionInline(admin.TabularInline):
    model = ProcedureVersion
    extra = 0
    can_delete = False
    fields = ("number", "created_at", "created_by", "time_limit_days", "time_limit_hours", "on_supplement")
    readonly_fields = fields
    ordering = ("-number",)

    def has_add_permission(self, request, obj=None):
        return False


class ProcedureAdminForm(forms.ModelForm):
    class Meta:
        model = Procedure
        fields = "__all__"  # noqa: DJ007  (the admin's fieldsets choose and order the fields)
        widgets = {"form_schema": forms.Textarea(attrs={"rows": 14, "cols": 100, "class": "vLargeTextField"})}

    def clean_form_schema(self):
        return self.cleaned_data.get("form_schema") or {}

    def clean_illustrative_parts(self):
        parts = self.cleaned_data.get("illustrative_parts") or []
        allowed = {"documents", "stages", "form", "fees"}
        if not isinstance(parts, list) or not set(parts) <= allowed:
            raise forms.ValidationError(
                _("Give a list drawn from: %(allowed)s.") % {"allowed": ", ".join(sorted(allowed))}
            )
        return parts


@admin.register(Procedure)
class ProcedureAdmin(admin.ModelAdmin):
    form = ProcedureAdminForm
    change_form_template = "procedures/catalogue_admin_change_form.html"
    change_list_template = "procedures/catalogue_admin_change_list.html"
    list_display = (
        "code",
        "name",
        "agency",
        "sector",
        "time_limit_days",
        "service_level",
        "is_published",
        "version_number",
        "is_illustrative",
    )
    list_filter = ("is_published", "service_level", "applicant_type", "level", "sector", "agency", "is_illustrative")
    search_fields = ("code", "name", "name_en", "search_text")
    list_select_related = ("agency", "current_version")
    readonly_fields = ("is_published", "current_version")
    actions = ["publish_selected", "unpublish_selected", "duplicate_selected"]
    inlines = [ProcedureStageInline, ProcedureFeeInline, ProcedureDocumentInline, ProcedureVersionInline]
    fieldsets = (
        (
            _("Identity"),
            {
                "fields": (
                    ("code", "level"),
                    "name",
                    "name_en",
                    ("sector", "sector_en", "sector_code"),
                    "agency",
                    ("applicant_type", "representative_allowed"),
                    "legal_basis",
                    "source",
                    "description",
                )
            },
        ),
        (
            _("Service level and result"),
            {
                "fields": (
                    "service_level",
                    ("return_online", "return_postal", "return_counter"),
                    ("result_kind", "result_name"),
                    "result_template",
                )
            },
        ),
        (
            _("Time limit"),
            {
                "fields": (
                    ("time_limit_days", "time_limit_hours"),
                    "time_limit_note",
                    ("cutoff_time", "cutoff_applies_to"),
                    "on_supplement",
                )
            },
        ),
        (_("Fees"), {"fields": ("fees_known",)}),
        (_("Application form"), {"fields": ("form_schema",)}),
        (
            _("Publication"),
            {"fields": ("is_published", "current_version", "is_illustrative", "illustrative_parts")},
        ),
    )

    @admin.display(description=_("version"))
    def version_number(self, obj):
        return obj.current_version.number if obj.current_version_id else "-"

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        procedure = form.instance
        if procedure.is_published:
            # Editing a published procedure creates a new version (only if something changed).
            problems = catalogue.procedure_problems(procedure)
            if problems:
                catalogue.procedure_unpublish(procedure=procedure, actor=request.user)
                self.message_user(request, " ".join(problems), messages.ERROR)
                return
            version = catalogue.procedure_version_freeze(procedure=procedure, actor=request.user)
            self.message_user(request, _("Published as version %(n)d.") % {"n": version.number}, messages.INFO)

    # --- actions ---------------------------------------------------------------------------------

    @admin.action(description=_("Publish the selected procedures"))
    def publish_selected(self, request, queryset):
        for procedure in queryset:
            try:
                version = catalogue.procedure_publish(procedure=procedure, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(code)s published (version %(n)d).") % {"code": procedure.code, "n": version.number},
                    messages.SUCCESS,
                )

    @admin.action(description=_("Unpublish the selected procedures"))
    def unpublish_selected(self, request, queryset):
        for procedure in queryset:
            catalogue.procedure_unpublish(procedure=procedure, actor=request.user)
        self.message_user(request, _("%(n)d procedure(s) unpublished.") % {"n": queryset.count()}, messages.SUCCESS)

    @admin.action(description=_("Duplicate the selected procedures"))
    def duplicate_selected(self, request, queryset):
        for procedure in queryset:
            copy = catalogue.procedure_duplicate(procedure=procedure, actor=request.user)
            self.message_user(request, _("%(code)s copied as %(copy)s.") % {"code": procedure.code, "copy": copy.code})

    # --- extra pages -----------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/preview/", wrap(self.preview_view), name="procedures_procedure_preview"),
            path("<int:pk>/publish/", wrap(self.publish_view), name="procedures_procedure_publish"),
            path("<int:pk>/unpublish/", wrap(self.unpublish_view), name="procedures_procedure_unpublish"),
            path("<int:pk>/duplicate/", wrap(self.duplicate_view), name="procedures_procedure_duplicate"),
            path("import/", wrap(self.import_view), name="procedures_procedure_import"),
            path("export/", wrap(self.export_view), name="procedures_procedure_export"),
            *super().get_urls(),
        ]

    def _get(self, request, pk) -> Procedure:
        procedure = self.get_object(request, str(pk))
        if procedure is None:
            raise Http404
        return procedure

    def preview_view(self, request, pk):
        procedure = self._get(request, pk)
        if not self.has_view_permission(request, procedure):
            raise PermissionDenied
        language = get_language() or "vi"
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": procedure,
            "title": _("Form preview: %(code)s") % {"code": procedure.code},
            "fields": form_schema_fields(procedure.form_schema, language),
            "problems": catalogue.procedure_problems(procedure),
        }
        return TemplateResponse(request, "procedures/catalogue_admin_preview.html", context)

    def _post_action(self, request, pk, action):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        procedure = self._get(request, pk)
        if not self.has_change_permission(request, procedure):
            raise PermissionDenied
        return action(procedure)

    def publish_view(self, request, pk):
        def act(procedure):
            self.publish_selected(request, Procedure.objects.filter(pk=procedure.pk))
            return redirect("admin:procedures_procedure_change", procedure.pk)

        return self._post_action(request, pk, act)

    def unpublish_view(self, request, pk):
        def act(procedure):
            self.unpublish_selected(request, Procedure.objects.filter(pk=procedure.pk))
            return redirect("admin:procedures_procedure_change", procedure.pk)

        return self._post_action(request, pk, act)

    def duplicate_view(self, request, pk):
        def act(procedure):
            copy = catalogue.procedure_duplicate(procedure=procedure, actor=request.user)
            self.message_user(request, _("%(code)s copied as %(copy)s.") % {"code": procedure.code, "copy": copy.code})
            return redirect("admin:procedures_procedure_change", copy.pk)

        return self._post_action(request, pk, act)

    def import_view(self, request):
        from procedures import catalogue_io

        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        report = None
        if request.method == "POST" and request.FILES.get("file"):
            upload = request.FILES["file"]
            report = catalogue_io.catalogue_import(
                content=upload.read(),
                filename=upload.name,
                actor=request.user,
                publish=bool(request.POST.get("publish")),
            )
            if report.ok:
                self.message_user(
                    request,
                    _("Imported %(created)d new and %(updated)d updated procedure(s).")
                    % {"created": report.created, "updated": report.updated},
                    messages.SUCCESS,
                )
                return redirect("admin:procedures_procedure_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import procedures"),
            "report": report,
        }
        return TemplateResponse(request, "procedures/catalogue_admin_import.html", context)

    def export_view(self, request):
        from procedures import catalogue_io

        if not self.has_view_permission(request):
            raise PermissionDenied
        fmt = request.GET.get("format", "json")
        if fmt not in catalogue_io.FORMATS:
            raise Http404
        content, content_type = catalogue_io.catalogue_export(Procedure.objects.all(), fmt=fmt)
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="procedures.{fmt}"'
        return response


@admin.register(ProcedureVersion)
class ProcedureVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Frozen versions: read-only (a dossier may be pinned to any of them)."""

    list_display = ("procedure", "number", "created_at", "created_by", "time_limit_days", "on_supplement")
    list_filter = ("on_supplement",)
    search_fields = ("procedure__code", "procedure__name")
    list_select_related = ("procedure", "created_by")
    readonly_fields = (
        "procedure",
        "number",
        "created_at",
        "created_by",
        "time_limit_days",
        "time_limit_hours",
        "on_supplement",
        "cutoff_time",
        "cutoff_applies_to",
        "digest",
        "snapshot",
    )
    exclude = ()


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
        "procedure_version",
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
