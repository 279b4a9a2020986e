"""The leaders' service-quality dashboard, its drill-down lists and exports (XLSX, PDF)."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from integrations.gateway_models import GatewayMessage, ReconciliationJob
from portal.spreadsheets import cell_neutralise
from procedures import selectors as procedure_selectors
from procedures.models import Agency, Dossier, Procedure
from quality import charts
from quality.indicators import COUNTER_LABELS, INDICATOR_BY_CODE
from quality.models import RefreshState
from quality.selectors import (
    FACT_FILTERS,
    Filters,
    Scope,
    backlog,
    backlog_bounds,
    backlog_queryset,
    cube,
    dossier_order,
    drill_counter,
    drill_ratings,
    indicator_rows,
    procedure_names,
    ranking,
    scope_for,
    scores,
    totals,
    trend,
)


class FilterForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    agency = forms.ModelChoiceField(
        label=gettext_lazy("Agency"), queryset=Agency.objects.all(), required=False, empty_label=gettext_lazy("All")
    )
    sector = forms.ChoiceField(label=gettext_lazy("Sector"), required=False)
    procedure = forms.ModelChoiceField(
        label=gettext_lazy("Procedure"),
        queryset=Procedure.objects.none(),
        required=False,
        empty_label=gettext_lazy("All"),
    )

    def __init__(self, *args, scope: Scope, **kwargs):
        super().__init__(*args, **kwargs)
        procedures = Procedure.objects.order_by("code")
        if not scope.all_agencies:
            del self.fields["agency"]
            procedures = procedures.filter(agency_id=scope.agency_id)
        self.fields["procedure"].queryset = procedures
        sectors = procedures.exclude(sector="").values_list("sector", flat=True).distinct().order_by("sector")
        self.fields["sector"].choices = [("", _("All")), *((s, s) for s in sectors)]

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError(_("The start of the period is after its end."))
        if start and end and (end - start).days > 366 * 10:
            raise forms.ValidationError(_("Choose a period of at most ten years."))
        return data


def _filters(request: HttpRequest, scope: Scope) -> tuple[Filters, FilterForm]:
    form = FilterForm(request.GET or None, scope=scope)
    today = timezone.localdate()
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    agency = data.get("agency")
    procedure = data.get("procedure")
    filters = Filters(
        start=data.get("start") or today.replace(month=1, day=1),
        end=data.get("end") or today,
        agency_id=agency.pk if agency else scope.agency_id,
        sector=data.get("sector") or "",
        procedure_id=procedure.pk if procedure else None,
    )
    if not scope.all_agencies:
        filters.agency_id = scope.agency_id
    return filters, form


def drill_url(filters: Filters, **extra: Any) -> str:
    return reverse("quality:dossiers") + "?" + urlencode({**filters.query(), **extra})


def _reconciliation(filters: Filters) -> dict[str, Any]:
    """The identity-reconciliation table (counts per mismatch category and facility) over jobs of the period."""
    from integrations.reconciliation import job_counts, report_from_counts
    from integrations.reconciliation_matching import CATEGORIES
    from integrations.reconciliation_views import CATEGORY_LABELS

    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(filters.start, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    jobs = list(ReconciliationJob.objects.filter(created_at__gte=start, created_at__lt=end, parent__isnull=True))
    merged: dict[str, Counter] = {}
    for job in jobs:
        for facility, per_key in job_counts(job).items():
            merged.setdefault(facility, Counter()).update(per_key)
    rows, total = report_from_counts(merged)
    return {
        "jobs": len(jobs),
        "rows": rows,
        "total": total,
        "categories": [(c, CATEGORY_LABELS[c]) for c in CATEGORIES],
    }


def _gateway_usage(filters: Filters) -> list[dict[str, Any]]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(filters.start, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    failed = [GatewayMessage.Outcome.UNAVAILABLE, GatewayMessage.Outcome.REFUSED]
    return list(
        GatewayMessage.objects.filter(at__gte=start, at__lt=end)
        .values("caller")
        .annotate(
            calls=Count("id"),
            records=Sum("record_count"),
            mismatches=Count(
                "id", filter=Q(outcome__in=[GatewayMessage.Outcome.MISMATCH, GatewayMessage.Outcome.NOT_FOUND])
            ),
            failures=Count("id", filter=Q(outcome__in=failed)),
        )
        .order_by("-calls", "caller")
    )


def dashboard_context(filters: Filters, scope: Scope, *, charts_on: bool = True) -> dict[str, Any]:
    cells = cube(filters)
    sums = totals(filters, cells)
    rows = indicator_rows(filters, sums)
    score = scores(rows)
    for row in rows:
        spec = row.spec
        if spec.numerator in FACT_FILTERS or spec.numerator in ("ratings_satisfied",):
            row.num_url = drill_url(filters, counter=spec.numerator)
            row.den_url = drill_url(filters, counter=spec.denominator)
        else:
            row.num_url = row.den_url = ""
    months = trend(filters, cells)
    for m in months:
        period = Filters(m["start"], m["end"], filters.agency_id, filters.sector, filters.procedure_id)
        m["received_url"] = drill_url(period, counter="received")
        m["resolved_url"] = drill_url(period, counter="resolved")
        m["on_time_url"] = drill_url(period, counter="resolved_early+resolved_on_time")
    rankings = {}
    names = procedure_names(cells)
    for by in ("procedure", "agency", "sector"):
        items = ranking(filters, by, cells=cells, procedures=names)
        for item in items:
            narrowed = Filters(filters.start, filters.end, filters.agency_id, filters.sector, filters.procedure_id)
            if by == "procedure":
                narrowed.procedure_id = item["key"]
            elif by == "agency":
                narrowed.agency_id = item["key"]
            else:
                narrowed.sector = item["key"] or ""
            item["resolved_url"] = drill_url(narrowed, counter="resolved")
            item["on_time_url"] = drill_url(narrowed, counter="resolved_early+resolved_on_time")
            item["late_url"] = drill_url(narrowed, counter="resolved_late")
            item["received_url"] = drill_url(narrowed, counter="received")
        rankings[by] = items
    overdue = backlog(filters)
    for bucket in overdue:
        bucket["url"] = drill_url(filters, backlog=bucket["index"])
        bucket["label"] = (
            _("%(low)s-%(high)s working days") % {"low": bucket["low"], "high": bucket["high"]}
            if bucket["high"] is not None
            else _("%(low)s working days or more") % {"low": bucket["low"]}
        )
    context = {
        "filters": filters,
        "scope": scope,
        "totals": sums,
        "counts": [
            (c, COUNTER_LABELS[c], sums[c], drill_url(filters, counter=c))
            for c in FACT_FILTERS
            if "+" not in c and c != "resolution_mdays"
        ],
        "rows": rows,
        "score": score,
        "months": months,
        "rankings": rankings,
        "backlog": overdue,
        "backlog_total": sum(b["count"] for b in overdue),
        "refresh": RefreshState.objects.filter(pk=1).first(),
        "agency": Agency.objects.filter(pk=filters.agency_id).first() if filters.agency_id else None,
        "procedure": Procedure.objects.filter(pk=filters.procedure_id).first() if filters.procedure_id else None,
        "generated_at": timezone.localtime(),
    }
    if scope.all_agencies:
        context["reconciliation"] = _reconciliation(filters)
        context["gateway"] = _gateway_usage(filters)
    if charts_on:
        context["trend_chart"] = charts.month_trend(
            months,
            title=_("Dossiers received per month and the on-time rate"),
            bars_label=_("Dossiers received"),
            line_label=_("Resolved early or on time (%)"),
        )
        context["procedure_chart"] = charts.horizontal_bars(
            [(f"{i['code']} {i['name']}", i["on_time_rate"], charts.BAR) for i in rankings["procedure"]],
            title=_("Procedures by on-time rate"),
            chart_id="rank-procedures",
            maximum=100,
        )
        context["agency_chart"] = charts.horizontal_bars(
            [(i["name"], i["on_time_rate"], charts.BAR) for i in rankings["agency"]],
            title=_("Units by on-time rate"),
            chart_id="rank-units",
            maximum=100,
        )
        context["backlog_chart"] = charts.horizontal_bars(
            [(b["label"], b["count"], charts.LATE) for b in overdue],
            title=_("Overdue dossiers by how long they are overdue"),
            chart_id="backlog",
            suffix="",
        )
    return context


@login_required
@require_GET
@never_cache
def dashboard(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    filters, form = _filters(request, scope)
    context = dashboard_context(filters, scope)
    context["form"] = form
    context["query"] = urlencode(filters.query())
    return render(request, "quality/dashboard.html", context)


def _drill(request: HttpRequest, filters: Filters) -> dict[str, Any]:
    """The title and rows behind the number the link came from."""
    if "backlog" in request.GET:
        try:
            index = int(request.GET["backlog"])
        except ValueError:
            index = -1
        agency = Agency.objects.filter(pk=filters.agency_id).first() if filters.agency_id else None
        bounds = backlog_bounds(timezone.now(), agency)
        if not 0 <= index < len(bounds):
            return {"error": _("Unknown overdue bucket.")}
        low, high, before, after = bounds[index]
        title = _("Overdue dossiers: %(low)s working days or more") % {"low": low}
        if high is not None:
            title = _("Overdue dossiers: %(low)s-%(high)s working days") % {"low": low, "high": high}
        return {"title": title, "dossiers": backlog_queryset(filters, due_before=before, due_after=after)}
    counter = request.GET.get("counter", "")
    if counter in ("ratings", "ratings_satisfied"):
        from quality.facts import rating_model

        if rating_model() is None:
            return {"error": _("Ratings are not recorded in this installation.")}
        label = COUNTER_LABELS[counter]
        return {"title": label, "ratings": drill_ratings(filters, satisfied_only=counter == "ratings_satisfied")}
    if counter not in FACT_FILTERS:
        return {"error": _("Unknown number to list.")}
    label = INDICATOR_BY_CODE["on_time_rate"].label if "+" in counter else COUNTER_LABELS[counter]
    return {"title": label, "facts": drill_counter(filters, counter)}


@login_required
@require_GET
@never_cache
def dossiers(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    filters, _form = _filters(request, scope)
    drill = _drill(request, filters)
    if "error" in drill:
        return render(request, "quality/dossiers.html", {"error": drill["error"], "filters": filters}, status=400)
    if "ratings" in drill:
        page = Paginator(drill["ratings"], 100).get_page(request.GET.get("page"))
        shown = [r.dossier for r in page.object_list]
    elif "facts" in drill:
        page = Paginator(drill["facts"].values_list("dossier_id", flat=True), 100).get_page(request.GET.get("page"))
        found = dossier_order(Dossier.objects.filter(pk__in=list(page.object_list))).in_bulk()
        shown = [found[pk] for pk in page.object_list]
        page.object_list = shown
    else:
        page = Paginator(dossier_order(drill["dossiers"]), 100).get_page(request.GET.get("page"))
        shown = list(page.object_list)
    procedure_selectors.personal_data_read(actor=request.user, dossiers=shown, purpose="quality dashboard drill-down")
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "quality/dossiers.html",
        {
            "title": drill["title"],
            "page": page,
            "is_ratings": "ratings" in drill,
            "count": page.paginator.count,
            "filters": filters,
            "query": query.urlencode(),
            "back": reverse("quality:dashboard") + "?" + urlencode(filters.query()),
        },
    )


def _export_rows(context: dict[str, Any]) -> dict[str, list[list[Any]]]:
    rows = context["rows"]
    indicators = [
        [
            _("Group"),
            _("Indicator"),
            _("Formula"),
            _("Numerator"),
            _("Denominator"),
            _("Value"),
            _("Target"),
            _("Points"),
            _("Maximum"),
        ]
    ]
    for row in rows:
        indicators.append(
            [
                row.spec.group, str(row.spec.label), str(row.spec.formula), row.numerator, row.denominator,
                row.value, row.target, row.points, row.spec.points,
            ]
        )  # fmt: skip
    indicators.append([_("Total"), "", "", "", "", "", "", context["score"]["total"], 100])
    months = [
        [
            _("Month"),
            _("Dossiers received"),
            _("Dossiers resolved"),
            _("Resolved early or on time"),
            _("On-time rate (%)"),
        ]
    ]
    months += [
        [m["month"].strftime("%m/%Y"), m["received"], m["resolved"], m["on_time"], m["on_time_rate"]]
        for m in context["months"]
    ]
    rankings = {}
    for by, title in (("procedure", _("Procedures")), ("agency", _("Units")), ("sector", _("Sectors"))):
        table = [
            [
                _("Code"),
                _("Name"),
                _("Dossiers received"),
                _("Dossiers resolved"),
                _("Resolved late"),
                _("On-time rate (%)"),
            ]
        ]
        table += [
            [i["code"], i["name"], i["received"], i["resolved"], i["late"], i["on_time_rate"]]
            for i in context["rankings"][by]
        ]
        rankings[title] = table
    backlog_rows = [[_("Overdue by"), _("Dossiers")]] + [[b["label"], b["count"]] for b in context["backlog"]]
    return {_("Indicators"): indicators, _("Trend by month"): months, **rankings, _("Overdue backlog"): backlog_rows}


def _filename(filters: Filters, ext: str) -> str:
    return f"chat-luong-phuc-vu-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.{ext}"


@login_required
@require_GET
def export_xlsx(request: HttpRequest) -> HttpResponse:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    scope = scope_for(request.user)
    filters, _form = _filters(request, scope)
    context = dashboard_context(filters, scope, charts_on=False)
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, table in _export_rows(context).items():
        sheet = workbook.create_sheet(title=str(title)[:31])
        for row in table:
            # Texts (names of procedures, agencies) are neutralised against formula injection (T17).
            sheet.append(
                [cell_neutralise(str(v)) if v is not None and not isinstance(v, int | float) else v for v in row]
            )
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    info = workbook.create_sheet(title=_("Period")[:31])
    info.append([_("From"), filters.start.isoformat()])
    info.append([_("To"), filters.end.isoformat()])
    info.append([_("Agency"), str(context["agency"]) if context["agency"] else _("All")])
    info.append([_("Generated at"), context["generated_at"].strftime("%Y-%m-%d %H:%M")])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(filters, "xlsx")}"'
    return response


@login_required
@require_GET
def export_pdf(request: HttpRequest) -> HttpResponse:
    from weasyprint import HTML

    scope = scope_for(request.user)
    filters, _form = _filters(request, scope)
    context = dashboard_context(filters, scope)
    html = render_to_string("quality/report_pdf.html", context, request=request)
    response = HttpResponse(HTML(string=html, base_url=None).write_pdf(), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_filename(filters, "pdf")}"'
    return response
