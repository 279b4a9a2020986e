"""Administrators configure the catalogue here; dossier state is read-only (services change it)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import formats
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from portal.admin import ReadOnlyAdminMixin
from portal.audit import audit_record
from portal.errors import ApplicationError
from portal.uploads import check_table_upload, table_uploads
from procedures import calendar as working_calendar
from procedures import catalogue, clock, services
from procedures.admin_national import national_sync_selected  # national catalogue sync (issue 8)
from procedures.formschema import form_schema_fields
from procedures.models import (
    Agency,
    AgencyIdentifier,
    CalendarYear,
    Department,
    Dossier,
    DossierDocument,
    DossierEvent,
    Holiday,
    NotificationLog,
    Procedure,
    ProcedureDocument,
    ProcedureFee,
    ProcedureStage,
    ProcedureVersion,
    RuleVersion,
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
    actions = ["publish_selected", "unpublish_selected", "duplicate_selected", national_sync_selected]
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
            path("import/", table_uploads(wrap(self.import_view)), name="procedures_procedure_import"),
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
            try:
                upload = check_table_upload(request.FILES["file"], suffixes={".json", ".xlsx"}, actor=request.user)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
                return redirect("admin:procedures_procedure_import")
            report = catalogue_io.catalogue_import(
                content=upload.file.read(),
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


# --- Working-day calendar, rule versions, departments, notifications (issue 4) --------------------


class CalendarYearFilter(admin.SimpleListFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = sorted({d.year for d in Holiday.objects.dates("date", "year")}, reverse=True)
        return [(str(y), str(y)) for y in years]

    def queryset(self, request, queryset):
        return queryset.filter(date__year=int(self.value())) if self.value() and self.value().isdigit() else queryset


class DueUnconfirmedListFilter(admin.SimpleListFilter):
    """For the dossier list: whether the due date falls in a year whose calendar nobody confirmed."""

    title = _("calendar of the due date")
    parameter_name = "due_calendar"

    def lookups(self, request, model_admin):
        return [("unconfirmed", _("In an unconfirmed year")), ("confirmed", _("In a confirmed year"))]

    def queryset(self, request, queryset):
        confirmed = CalendarYear.objects.filter(confirmed=True).values_list("year", flat=True)
        if self.value() == "unconfirmed":
            return queryset.filter(due_at__isnull=False).exclude(due_at__year__in=list(confirmed))
        if self.value() == "confirmed":
            return queryset.filter(due_at__year__in=list(confirmed))
        return queryset


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    """Days off and make-up working days; every change is audited and counts for due dates computed afterwards."""

    list_display = ("date", "weekday", "name", "kind", "source", "year_confirmed")
    list_filter = ("kind", CalendarYearFilter)
    search_fields = ("name", "source")
    date_hierarchy = "date"
    fields = ("date", "name", "kind", "source")

    @admin.display(description=_("weekday"))
    def weekday(self, obj):
        return formats.date_format(obj.date, "l")

    @admin.display(description=_("year confirmed"), boolean=True)
    def year_confirmed(self, obj):
        return CalendarYear.objects.filter(year=obj.date.year, confirmed=True).exists()

    def _after_change(self, request, years):
        confirmed = sorted(CalendarYear.objects.filter(year__in=years, confirmed=True).values_list("year", flat=True))
        self.message_user(
            request,
            _(
                "Due dates computed from now on use this change. Recompute the due dates of open dossiers "
                "(Calendar years, “Recompute due dates”) to update those already given."
            ),
            messages.WARNING,
        )
        if confirmed:
            self.message_user(
                request,
                _("You changed the confirmed calendar of %(years)s.") % {"years": ", ".join(map(str, confirmed))},
                messages.WARNING,
            )

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                action="calendar.day_change" if change else "calendar.day_add",
                actor=request.user,
                obj=obj,
                data={"date": obj.date.isoformat(), "kind": obj.kind, "name": obj.name, "changed": form.changed_data},
            )
        self._after_change(request, [obj.date.year])

    def delete_model(self, request, obj):
        self.delete_queryset(request, Holiday.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            rows = list(queryset.values("pk", "date", "kind", "name"))
            for row in rows:
                audit_record(
                    action="calendar.day_delete",
                    actor=request.user,
                    object_type="procedures.holiday",
                    object_id=str(row["pk"]),
                    data={"date": row["date"].isoformat(), "kind": row["kind"], "name": row["name"]},
                )
            queryset.delete()
        self._after_change(request, {row["date"].year for row in rows})


class CalendarSeedForm(forms.Form):
    year = forms.IntegerField(
        label=_("year"), min_value=working_calendar.FIRST_YEAR, max_value=working_calendar.LAST_YEAR
    )


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    """Seed a year from the holidays package, review its days, confirm it; report unconfirmed due dates."""

    change_list_template = "procedures/calendar_year_change_list.html"
    list_display = (
        "year",
        "seeded_at",
        "confirmed",
        "confirmed_at",
        "confirmed_by",
        "days_off",
        "make_up_days",
        "open_dossiers_due",
    )
    fields = ("year", "note", "seeded_at", "confirmed", "confirmed_at", "confirmed_by")
    readonly_fields = ("seeded_at", "confirmed", "confirmed_at", "confirmed_by")
    actions = ["seed_selected", "confirm_selected"]

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "year") if obj is not None else self.readonly_fields

    @admin.display(description=_("days off"))
    def days_off(self, obj):
        return Holiday.objects.filter(date__year=obj.year).exclude(kind=Holiday.Kind.MAKEUP_WORKING).count()

    @admin.display(description=_("make-up working days"))
    def make_up_days(self, obj):
        return Holiday.objects.filter(date__year=obj.year, kind=Holiday.Kind.MAKEUP_WORKING).count()

    @admin.display(description=_("open dossiers due in this year"))
    def open_dossiers_due(self, obj):
        open_states = [s for s in Dossier.State if s not in Dossier.FINAL_STATES]
        return Dossier.objects.filter(state__in=open_states, due_at__year=obj.year).count()

    @admin.action(description=_("Seed the selected years from the holidays package"), permissions=["change"])
    def seed_selected(self, request, queryset):
        for calendar_year in queryset.order_by("year"):
            self._seed(request, calendar_year.year)

    def _seed(self, request, year):
        try:
            added = working_calendar.calendar_seed_year(year=year, actor=request.user)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(
            request,
            _(
                "%(year)d: %(n)d day(s) added from the holidays package. Review them, add the compensatory days, "
                "swap days and make-up working Saturdays of the year's decision, then confirm the year."
            )
            % {"year": year, "n": added},
            messages.SUCCESS,
        )

    @admin.action(description=_("Confirm the selected years (reviewed)"), permissions=["change"])
    def confirm_selected(self, request, queryset):
        for calendar_year in queryset.order_by("year"):
            try:
                working_calendar.calendar_year_confirm(year=calendar_year.year, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                continue
            self.message_user(
                request, _("The calendar of %(year)d is confirmed.") % {"year": calendar_year.year}, messages.SUCCESS
            )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("seed/", wrap(self.seed_view), name="procedures_calendaryear_seed"),
            path("recompute/", wrap(self.recompute_view), name="procedures_calendaryear_recompute"),
            path("unconfirmed/", wrap(self.unconfirmed_view), name="procedures_calendaryear_unconfirmed"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "seed_form": CalendarSeedForm()}
        return super().changelist_view(request, extra_context)

    def seed_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = CalendarSeedForm(request.POST)
        if form.is_valid():
            self._seed(request, form.cleaned_data["year"])
        else:
            for error in form.errors.get("year", []):
                self.message_user(request, f"{_('year')}: {error}", messages.ERROR)
        return redirect("admin:procedures_calendaryear_changelist")

    def recompute_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        with transaction.atomic():
            result = clock.clock_recompute_open()
            audit_record(action="calendar.recompute", actor=request.user, object_type="procedures.dossier", data=result)
        self.message_user(
            request,
            _("Due dates recomputed: %(checked)d open dossier(s) checked, %(changed)d changed.") % result,
            messages.SUCCESS,
        )
        return redirect("admin:procedures_calendaryear_changelist")

    def unconfirmed_view(self, request):
        if not self.has_view_permission(request) or not request.user.has_perm("procedures.view_dossier"):
            raise PermissionDenied
        dossiers = working_calendar.dossiers_due_unconfirmed()
        year = request.GET.get("year", "")
        if year.isdigit():
            dossiers = dossiers.filter(due_at__year=int(year))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Open dossiers due in a year without a confirmed calendar"),
            "dossiers": dossiers[:500],
            "total": dossiers.count(),
            "year": year,
        }
        return TemplateResponse(request, "procedures/calendar_unconfirmed_report.html", context)


@admin.register(RuleVersion)
class RuleVersionAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "effective_from",
        "effective_to",
        "max_extensions",
        "extension_notice_working_days",
        "due_soon_working_days",
    )
    search_fields = ("code", "name", "legal_basis")
    date_hierarchy = "effective_from"


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "agency")
    list_filter = ("agency",)
    search_fields = ("code", "name", "agency__code", "agency__name")
    list_select_related = ("agency",)


@admin.register(NotificationLog)
class NotificationLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every message sent (or not) about a dossier; written by code only."""

    list_display = (
        "created_at",
        "dossier",
        "kind",
        "channel",
        "recipient",
        "language",
        "status",
        "attempts",
        "sent_at",
    )
    list_filter = ("kind", "channel", "status", "language")
    search_fields = ("dossier__code", "dossier__reference", "subject")
    list_select_related = ("dossier",)
    date_hierarchy = "created_at"
    exclude = ()


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
    list_filter = ("state", "agency", "channel", DueUnconfirmedListFilter)
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
