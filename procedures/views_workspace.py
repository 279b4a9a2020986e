"""The staff workspace (issue 7): queues by role, the staff dossier page with its actions, bulk actions.

Thin views: parse the request, call procedures.queues (reads) or procedures.lifecycle.dossier_transition
(the one door for changes), render. htmx requests get the fragment that changed (the queue results
or the dossier panel); without JavaScript every form is a plain POST followed by a redirect.
Every page that shows applicants' data writes one personal-data read record.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.errors import ApplicationError
from portal.uploads import STAFF_VISIBLE, attachment_response
from procedures import clock, queues, selectors
from procedures.lifecycle import ACTIONS, RETURN_METHODS, allowed_actions, dossier_transition
from procedures.models import Agency, Department, Dossier, OfficialDocument, Procedure, ProcedureStage, StaffProfile

BULK_ACTIONS = ("receive", "assign")
BULK_LIMIT = 100


def _profile(request: HttpRequest) -> StaffProfile:
    profile = selectors.staff_profile_for(user=request.user)
    if profile is None:
        raise PermissionDenied
    return profile


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


# --- queues ---------------------------------------------------------------------------------


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    profile = _profile(request)
    available = queues.queues_for(profile)
    if not available:
        raise PermissionDenied
    return redirect("workspace:queue", key=available[0].key)


def _queue_context(request: HttpRequest, profile: StaffProfile, queue: queues.Queue, filters, after) -> dict:
    page = queues.queue_page(profile=profile, queue=queue, filters=filters, after=after, size=queues.PAGE_SIZE)
    selectors.personal_data_read(actor=request.user, dossiers=page.rows, purpose=f"workspace queue page ({queue.key})")
    params = request.GET.copy()
    params.pop("after", None)
    tabs = queues.tab_counts(profile=profile)
    now = timezone.now()
    # The state's label once per state, not per row (get_FOO_display hashes every lazy choice label).
    state_labels = {value: str(label) for value, label in Dossier.State.choices}
    for d in page.rows:
        d.state_label = state_labels[d.state]
        d.row_watch = d.watch or ("overdue" if d.due_at and not d.clock_paused and d.due_at < now else "")
    return {
        "profile": profile,
        "queue": queue,
        "queues": [item for item, _count in tabs],
        "tabs": [(item, f"{queues.COUNT_CAP}+" if count > queues.COUNT_CAP else str(count)) for item, count in tabs],
        "page": page,
        "filters": filters,
        "query_string": params.urlencode(),
        "procedures": Procedure.objects.filter(agency_id=profile.agency_id).order_by("code").only("pk", "code", "name"),
        "states": Dossier.State.choices,
        "stages": sorted(
            set(ProcedureStage.objects.filter(procedure__agency_id=profile.agency_id).values_list("name", flat=True))
        ),
        "bulk_actions": [ACTIONS[name] for name in queue.bulk if profile.role in ACTIONS[name].roles],
        "officers": _officers(profile.agency_id) if "assign" in queue.bulk else [],
    }


def _officers(agency_id: int):
    return (
        StaffProfile.objects.filter(agency_id=agency_id, role=StaffProfile.Role.PROCESSING_OFFICER)
        .select_related("user", "department")
        .order_by("user__last_name", "user__first_name")
    )


@login_required
@require_http_methods(["GET", "POST"])
def queue(request: HttpRequest, key: str) -> HttpResponse:
    """A queue page. GET: filters and keyset cursor in the URL. POST: search by personal ID (body only)."""
    profile = _profile(request)
    q = queues.queue_for(profile, key)
    national_id = request.POST.get("national_id", "") if request.method == "POST" else ""
    filters = queues.QueueFilters.from_query(request.GET, national_id=national_id)
    after = queues.Cursor.decode(request.GET.get("after"))
    context = _queue_context(request, profile, q, filters, after)
    context["id_search"] = bool(filters.national_id)
    template = "workspace/_queue_results.html" if _is_htmx(request) else "workspace/queue.html"
    return render(request, template, context)


@login_required
@require_POST
def bulk(request: HttpRequest, key: str) -> HttpResponse:
    """Receive or assign each selected dossier through the lifecycle, one at a time; report each."""
    profile = _profile(request)
    q = queues.queue_for(profile, key)
    action = request.POST.get("action", "")
    ids = [int(v) for v in request.POST.getlist("ids") if v.isdigit()][:BULK_LIMIT]
    report: list[dict] = []
    if action not in BULK_ACTIONS or action not in q.bulk:
        messages.error(request, _("Choose an action for the selected dossiers."))
    elif not ids:
        messages.error(request, _("Select at least one dossier."))
    else:
        params = {}
        if action == "assign":
            params["officer"] = request.POST.get("officer") or None
            params["department"] = request.POST.get("department") or None
        labels = dict(Dossier.objects.filter(queues.staff_scope(profile), pk__in=ids).values_list("pk", "reference"))
        for pk in ids:
            try:
                dossier = dossier_transition(dossier_id=pk, action=action, actor=request.user, **params)
            except ApplicationError as exc:
                report.append({"pk": pk, "label": labels.get(pk, f"#{pk}"), "ok": False, "message": exc.message})
            else:
                report.append({"pk": pk, "label": dossier.code or dossier.reference, "ok": True, "message": _("Done.")})
        done = sum(1 for r in report if r["ok"])
        summary = _("%(done)s of %(total)s done.") % {"done": done, "total": len(report)}
        if not _is_htmx(request):
            (messages.success if done == len(report) else messages.warning)(request, summary)
            for r in report:
                (messages.info if r["ok"] else messages.error)(request, f"{r['label']}: {r['message']}")
    if not _is_htmx(request):
        return redirect(reverse("workspace:queue", kwargs={"key": q.key}))
    filters = queues.QueueFilters.from_query(request.GET)
    context = _queue_context(request, profile, q, filters, None)
    context["report"] = report
    return render(request, "workspace/_queue_results.html", context)


# --- one dossier ----------------------------------------------------------------------------


def _dossier_context(request: HttpRequest, profile: StaffProfile, dossier: Dossier, **extra) -> dict:
    now = timezone.now()
    days_left = None
    if dossier.due_at is not None and not dossier.is_final and dossier.state != Dossier.State.RESULT_READY:
        days_left = round(clock.working_days_between(clock.agency_calendar(dossier.agency), now, dossier.due_at), 1)
    actions = allowed_actions(dossier, request.user)
    names = {a.name for a in actions}
    agency_id = dossier.agency_id
    return {
        "profile": profile,
        "dossier": dossier,
        "days_left": days_left,
        "overdue": dossier.is_overdue,
        "actions": actions,
        "checklist": list(dossier.procedure.documents.all()) if "request_supplement" in names else [],
        "officers": _officers(agency_id) if names & {"assign", "transfer"} else [],
        "departments": Department.objects.filter(agency_id=agency_id) if names & {"assign", "transfer"} else [],
        "agencies": Agency.objects.exclude(pk=agency_id).order_by("name") if "consult" in names else [],
        "return_methods": RETURN_METHODS.items(),
        "documents": dossier.documents.visible_to_staff(),
        # Files the applicant sent that staff cannot open yet (waiting for the virus scan) or ever (infected).
        "held_documents": dict(
            Counter(dossier.documents.exclude(scan_status__in=STAFF_VISIBLE).values_list("scan_status", flat=True))
        ),
        "official_documents": dossier.official_documents.order_by("kind", "sequence"),
        "events": dossier.events.select_related("actor").order_by("at", "id"),
        "steps": dossier.steps.select_related("handler").order_by("started_at", "id"),
        **extra,
    }


@login_required
@require_GET
def dossier_page(request: HttpRequest, pk: int) -> HttpResponse:
    profile = _profile(request)
    dossier = queues.dossier_for_workspace(profile=profile, pk=pk)
    selectors.personal_data_read(actor=request.user, dossiers=[dossier], purpose="workspace opens dossier")
    return render(request, "workspace/dossier.html", _dossier_context(request, profile, dossier))


def _parse_new_due(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise ApplicationError(_("Give the new appointment (date and time)."), extra={"field": "new_due"}) from None
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def action_params(action: str, data) -> dict:
    """What the lifecycle needs for ACTION, from the action's small form."""
    reason = (data.get("reason") or "").strip()
    params: dict = {"reason": reason}
    if action == "request_supplement":
        items = [i.strip() for i in data.getlist("items") if i.strip()]
        items += [line.strip() for line in (data.get("other_items") or "").splitlines() if line.strip()]
        params["items"] = items
    elif action in ("assign", "transfer"):
        params["officer"] = data.get("officer") or None
        department = data.get("department") or None
        params["department"] = int(department) if department and department.isdigit() else None
    elif action == "consult":
        agency = data.get("agency") or ""
        params["agency"] = int(agency) if agency.isdigit() else None
    elif action == "extend":
        params["new_due"] = _parse_new_due(data.get("new_due", ""))
    elif action == "return_result":
        params["method"] = data.get("method", "")
    elif action == "confirm_payment":
        params["payment_reference"] = (data.get("payment_reference") or "").strip()[:100]
    elif action == "supplement":
        params["documents"] = []
    return params


@login_required
@require_POST
def dossier_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Do one action from the dossier page; errors are shown at the form, never a 500."""
    profile = _profile(request)
    if action not in ACTIONS:
        raise Http404
    error = None
    try:
        params = action_params(action, request.POST)
        dossier_transition(dossier_id=pk, action=action, actor=request.user, **params)
    except ApplicationError as exc:
        if exc.status == 404:
            raise Http404 from exc
        error = {"action": action, "message": exc.message, "status": exc.status}
    dossier = queues.dossier_for_workspace(profile=profile, pk=pk)
    done = None if error else _("“%(action)s” done.") % {"action": ACTIONS[action].label}
    if not _is_htmx(request):
        if error is None:
            messages.success(request, done)
            return redirect("workspace:dossier", pk=pk)
        selectors.personal_data_read(actor=request.user, dossiers=[dossier], purpose="workspace opens dossier")
        context = _dossier_context(request, profile, dossier, error=error)
        return render(request, "workspace/dossier.html", context, status=error["status"])
    selectors.personal_data_read(actor=request.user, dossiers=[dossier], purpose="workspace opens dossier")
    context = _dossier_context(request, profile, dossier, error=error, done=done)
    return render(request, "workspace/_dossier_panel.html", context)


@login_required
@require_GET
def dossier_document(request: HttpRequest, pk: int, doc_id: int) -> FileResponse:
    profile = _profile(request)
    dossier = queues.dossier_for_workspace(profile=profile, pk=pk)
    document = dossier.documents.visible_to_staff().filter(pk=doc_id).first()
    if document is None:
        raise Http404
    selectors.personal_data_read(actor=request.user, dossiers=[dossier], purpose="workspace opens document")
    return attachment_response(document.file, name=document.original_name, content_type=document.content_type)


@login_required
@require_GET
def official_document(request: HttpRequest, pk: int, doc_id: int) -> FileResponse:
    profile = _profile(request)
    dossier = queues.dossier_for_workspace(profile=profile, pk=pk)
    document = OfficialDocument.objects.filter(dossier=dossier, pk=doc_id).first()
    if document is None or not document.file:
        raise Http404
    selectors.personal_data_read(actor=request.user, dossiers=[dossier], purpose="workspace opens official document")
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    return FileResponse(
        handle, content_type="application/pdf", filename=f"{dossier.code or dossier.reference}-{document.kind}.pdf"
    )
