"""The applicant's pages: identity and consent, step-by-step application, payment, "My dossiers" and after.

Thin views: parse a form, call one service in citizens/, render or redirect. Every object is looked
up through the signed-in applicant, so another person's id, code or file answers 404 with nothing of it.
"""

from __future__ import annotations

import logging
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from citizens import apply as apply_services
from citizens.applicant import (
    applicant_for,
    consent_current,
    consent_give,
    consent_text,
    consent_withdraw,
    contact_code_confirm,
    contact_code_send,
    contact_is_verified,
    prefill_fields,
    prefill_refresh,
)
from citizens.followup import feedback_send, personal_data_reads, public_lookup
from citizens.forms import (
    ApplicantStepForm,
    FeedbackForm,
    LookupForm,
    RatingForm,
    SchemaForm,
    SupplementForm,
    WithdrawForm,
)
from citizens.models import Draft, DraftDocument, Feedback, IdentityPrefill, Payment
from citizens.payments import CallbackRefused, fees_due, payment_callback, payment_start
from portal.errors import ApplicationError
from portal.ratelimits import limit, lookup_code_key, user_or_ip_key
from procedures import selectors
from procedures.models import Dossier, ProcedureDocument

logger = logging.getLogger("citizens.views")

STEPS = ("applicant", "form", "documents", "review")


def applicant_required(view):
    """Signed-in citizens and organisations only; staff get 404 (these pages are not theirs)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        applicant = applicant_for(user=request.user)
        if applicant is None:
            raise Http404
        request.applicant = applicant
        return view(request, *args, **kwargs)

    return wrapper


def _own_dossier(request: HttpRequest, reference: str) -> Dossier:
    return selectors.dossier_get_for_applicant(user=request.user, reference=reference[:32])


def _own_draft(request: HttpRequest, token: str) -> Draft:
    try:
        return apply_services.draft_get(user=request.user, token=token[:32])
    except ApplicationError as exc:
        raise Http404 from exc


def _client_ip(request: HttpRequest) -> str | None:
    header = settings.AUDIT_IP_HEADER
    value = request.META.get(header) if header else request.META.get("REMOTE_ADDR")
    return (value or "").split(",")[0].strip() or None


def _attachment(field_file, *, name: str, content_type: str, scan_status: str | None = None) -> FileResponse:
    from portal.uploads import attachment_response

    return attachment_response(field_file, name=name, content_type=content_type, scan_status=scan_status)


# --- identity, consent and prefill -----------------------------------------------------------------


@applicant_required
@require_http_methods(["GET", "POST"])
def identity(request: HttpRequest) -> HttpResponse:
    """The consent screen (what is fetched, why, under which law), then the prefilled identity with sources."""
    applicant = request.applicant
    consent = consent_current(user=request.user)
    prefill = IdentityPrefill.objects.filter(user=request.user).first()
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "consent":
            consent = consent_give(user=request.user, ip=_client_ip(request), language=get_language() or "vi")
            prefill = prefill_refresh(applicant=applicant, consent=consent)
        elif action == "refresh" and consent is not None:
            prefill = prefill_refresh(applicant=applicant, consent=consent)
        elif action == "withdraw":
            consent_withdraw(user=request.user)
            messages.success(request, _("Your consent is withdrawn and the data fetched under it is deleted."))
            return redirect("citizens:identity")
        if prefill is not None:
            if prefill.status == IdentityPrefill.Status.VERIFIED:
                messages.success(request, _("Your identity is verified with the national population database."))
            elif prefill.status == IdentityPrefill.Status.UNVERIFIED:
                messages.warning(
                    request,
                    _(
                        "The population database is unavailable now. You can go on: your details are marked "
                        "unverified and will be checked automatically when it is back."
                    ),
                )
            else:
                messages.warning(
                    request,
                    _(
                        "Your details differ from the national population database. You can go on; the reception "
                        "unit will check your papers. Please also ask the police where you live to correct your record."
                    ),
                )
        nxt = request.POST.get("next", "")
        if nxt.startswith("/me/") and "//" not in nxt:
            return redirect(nxt)
        return redirect("citizens:identity")
    return render(
        request,
        "citizens/identity.html",
        {
            "applicant": applicant,
            "consent": consent,
            "consent_text": consent_text(),
            "prefill": prefill,
            "fields": prefill_fields(prefill),
            "next": request.GET.get("next", ""),
        },
    )


@applicant_required
@require_POST
def contact_code(request: HttpRequest, token: str) -> HttpResponse:
    """Send a one-time code to the phone or email typed in a draft, or check the code typed back."""
    draft = _own_draft(request, token)
    channel = request.POST.get("channel", "")
    if channel not in ("email", "phone"):
        raise Http404
    value = draft.data.get(channel, "")
    try:
        if request.POST.get("code"):
            contact_code_confirm(user=request.user, channel=channel, value=value, code=request.POST["code"])
            messages.success(request, _("Confirmed. Thank you."))
        else:
            contact_code_send(user=request.user, channel=channel, value=value)
            messages.info(request, _("We sent a code. Type it below to confirm."))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("citizens:draft-step", token=draft.token, step="applicant")


# --- applying ---------------------------------------------------------------------------------------


@applicant_required
@require_http_methods(["GET", "POST"])
def apply_start(request: HttpRequest, pk: int) -> HttpResponse:
    procedure = selectors.procedure_get_published(pk=pk)
    if request.method == "GET":
        return render(request, "citizens/apply_start.html", {"procedure": procedure})
    try:
        draft = apply_services.draft_start(user=request.user, procedure=procedure)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("procedures:procedure-detail", pk=procedure.pk)
    return redirect("citizens:draft-step", token=draft.token, step="applicant")


def _step_context(request: HttpRequest, draft: Draft, step: str) -> dict:
    prefill = IdentityPrefill.objects.filter(user=request.user).first()
    fields = prefill_fields(prefill)
    return {
        "draft": draft,
        "procedure": draft.procedure,
        "step": step,
        "steps": [
            (name, label)
            for name, label in zip(
                STEPS, (_("Applicant"), _("Application form"), _("Documents"), _("Review and submit")), strict=True
            )
        ],
        "applicant": request.applicant,
        "prefill": prefill,
        "fields": fields,
        "consent": consent_current(user=request.user),
    }


@applicant_required
@require_http_methods(["GET", "POST"])
def draft_step(request: HttpRequest, token: str, step: str) -> HttpResponse:
    draft = _own_draft(request, token)
    if step not in STEPS:
        raise Http404
    if draft.dossier_id:
        return redirect("citizens:dossier", reference=draft.dossier.reference)
    context = _step_context(request, draft, step)
    status = 200
    if step == "applicant":
        fields = context["fields"]
        held = "permanent_residence" in fields
        initial = {**draft.data, **{f"principal_{k}": v for k, v in draft.principal.items()}}
        initial["principal_id_number"] = draft.principal.get("id_number", "")
        initial["on_behalf"] = draft.on_behalf
        if held:
            initial["address"] = fields["permanent_residence"]["value"]
        form = ApplicantStepForm(request.POST or None, initial=initial, address_held=held)
        if request.method == "POST":
            if form.is_valid():
                d = form.cleaned_data
                apply_services.draft_save(
                    draft=draft,
                    data={
                        "address": fields["permanent_residence"]["value"] if held else d["address"].strip(),
                        "current_residence": d["current_residence"].strip(),
                        "phone": d["phone"],
                        "email": d["email"].lower(),
                    },
                    on_behalf=d["on_behalf"],
                    principal={
                        "name": d["principal_name"].strip(),
                        "id_number": d["principal_id_number"].strip(),
                        "address": d["principal_address"].strip(),
                        "phone": d["principal_phone"],
                        "email": d["principal_email"],
                    }
                    if d["on_behalf"]
                    else {},
                )
                if request.POST.get("save") == "draft":
                    messages.success(request, _("Draft saved. You can come back to it from “My dossiers”."))
                    return redirect("citizens:draft-step", token=draft.token, step="applicant")
                return redirect("citizens:draft-step", token=draft.token, step="form")
            status = 400
        context["form"] = form
        context["phone_verified"] = contact_is_verified(
            user=request.user, channel="phone", value=draft.data.get("phone", "")
        )
        context["email_verified"] = contact_is_verified(
            user=request.user, channel="email", value=draft.data.get("email", "")
        )
    elif step == "form":
        answers = draft.data.get("form") or {}
        initial = {f"f_{k}": v for k, v in answers.items()} | {"request_summary": draft.data.get("request_summary", "")}
        form = SchemaForm(
            request.POST or None,
            initial=initial,
            schema=draft.procedure.form_schema,
            language=get_language() or "vi",
        )
        if request.method == "POST":
            if form.is_valid():
                apply_services.draft_save(
                    draft=draft,
                    data={"form": form.answers(), "request_summary": form.cleaned_data["request_summary"].strip()},
                )
                if request.POST.get("save") == "draft":
                    messages.success(request, _("Draft saved. You can come back to it from “My dossiers”."))
                    return redirect("citizens:draft-step", token=draft.token, step="form")
                return redirect("citizens:draft-step", token=draft.token, step="documents")
            status = 400
        context["form"] = form
    elif step == "documents":
        problems = []
        if request.method == "POST":
            item = request.POST.get("item", "")
            if request.POST.get("remove"):
                try:
                    apply_services.draft_remove_document(draft=draft, document_id=int(request.POST["remove"]))
                except (ApplicationError, ValueError) as exc:
                    raise Http404 from exc
                return redirect("citizens:draft-step", token=draft.token, step="documents")
            if not item.isdigit():
                raise Http404
            if request.POST.get("reuse"):
                try:
                    apply_services.draft_reuse_result(
                        draft=draft, item_order=int(item), official_id=int(request.POST["reuse"])
                    )
                except ValueError as exc:
                    raise Http404 from exc
                except ApplicationError as exc:
                    if exc.status == 404:
                        raise Http404 from exc
                    messages.error(request, exc.message)
                return redirect("citizens:draft-step", token=draft.token, step="documents")
            files = request.FILES.getlist(f"files-{item}")
            if not files:
                problems = [apply_services.UploadProblem("", _("Choose a file to upload."))]
            else:
                try:
                    stored, problems = apply_services.draft_upload(draft=draft, item_order=int(item), files=files)
                except ApplicationError as exc:
                    raise Http404 from exc
                if stored:
                    messages.success(request, _("%(count)s file(s) uploaded.") % {"count": stored})
            if not problems:
                return redirect("citizens:draft-step", token=draft.token, step="documents")
            context["problem_item"] = int(item)
            status = 400
        uploaded = list(draft.documents.all())
        prefill = context["prefill"]
        checklist = apply_services.checklist_for(draft.procedure)
        store = any(i.replaced_by == ProcedureDocument.ReplacedBy.CITIZEN_STORE for i in checklist)
        results = list(apply_services.held_results(request.user)) if store else []
        context["items"] = [
            {
                "item": item,
                "files": [d for d in uploaded if d.checklist_item == item.order],
                "held": apply_services.held_data_satisfies(item, prefill),
                "results": results if item.replaced_by == ProcedureDocument.ReplacedBy.CITIZEN_STORE else [],
                "accept": ",".join("." + t.strip() for t in item.accepted_types.split(",") if t.strip()),
            }
            for item in checklist
        ]
        context["power_of_attorney"] = [d for d in uploaded if d.checklist_item == DraftDocument.POWER_OF_ATTORNEY]
        context["problems"] = problems
    else:  # review
        context["problems"] = apply_services.draft_problems(
            draft=draft, applicant=request.applicant, prefill=context["prefill"]
        )
        context["documents"] = list(draft.documents.all())
        context["fees"] = [f for f in draft.procedure.fees.all() if f.is_effective_on(timezone.localdate())]
        schema_form = SchemaForm(schema=draft.procedure.form_schema, language=get_language() or "vi")
        answers = draft.data.get("form") or {}
        context["answers"] = [(s["label"], answers.get(s["name"], "")) for s in schema_form.specs]
    return render(request, f"citizens/apply_{step}.html", context, status=status)


@applicant_required
@require_GET
def draft_document(request: HttpRequest, token: str, doc_id: int) -> FileResponse:
    draft = _own_draft(request, token)
    document = draft.documents.filter(pk=doc_id).first()
    if document is None:
        raise Http404
    return _attachment(
        document.file, name=document.original_name, content_type=document.content_type, scan_status=document.scan_status
    )


@applicant_required
@require_POST
def draft_submit(request: HttpRequest, token: str) -> HttpResponse:
    """Submit; a double click, a refresh or a retried request lands on the same single dossier."""
    prefill = IdentityPrefill.objects.filter(user=request.user).first()
    try:
        dossier, created = apply_services.draft_submit(
            draft_token=token[:32], user=request.user, applicant=request.applicant, prefill=prefill
        )
    except ApplicationError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, exc.message)
        return redirect("citizens:draft-step", token=token[:32], step="review")
    if created:
        messages.success(request, _("Your dossier has been submitted. Reference: %(ref)s") % {"ref": dossier.reference})
    return redirect("citizens:dossier", reference=dossier.reference)


@applicant_required
@require_POST
def draft_delete(request: HttpRequest, token: str) -> HttpResponse:
    draft = _own_draft(request, token)
    if draft.dossier_id:
        raise Http404
    for document in draft.documents.all():
        document.file.delete(save=False)
    draft.delete()
    messages.success(request, _("Draft deleted."))
    return redirect("citizens:my-dossiers")


# --- my dossiers ------------------------------------------------------------------------------------


def _expected_now(dossier: Dossier) -> str:
    S = Dossier.State
    return {
        S.FEE_DUE: _("Pay the fee online so that the dossier can go on."),
        S.SUPPLEMENT_REQUESTED: _("Add the documents or corrections asked for below."),
        S.RESULT_READY: _("Your result is ready: download it or collect it as you chose."),
        S.RETURNED: _("Nothing. You can rate the service."),
    }.get(dossier.state, _("Nothing for now: the agency is handling your dossier."))


def _working_days_left(dossier: Dossier) -> float | None:
    from procedures.clock import agency_calendar, working_days_between

    if dossier.due_at is None or dossier.is_final or dossier.state == Dossier.State.RESULT_READY:
        return None
    now = timezone.now()
    calendar = agency_calendar(dossier.agency)
    if dossier.due_at <= now:
        return -round(working_days_between(calendar, dossier.due_at, now), 1)
    return round(working_days_between(calendar, now, dossier.due_at), 1)


@applicant_required
@require_GET
def my_dossiers(request: HttpRequest) -> HttpResponse:
    """The signed-in applicant's dossiers and open drafts."""
    dossiers = list(selectors.dossier_list_for_applicant(user=request.user).select_related("agency")[:200])
    for d in dossiers:
        d.days_left = _working_days_left(d)
        d.expected = _expected_now(d)
    drafts = Draft.objects.filter(user=request.user, dossier__isnull=True).select_related("procedure")
    return render(request, "citizens/my_dossiers.html", {"dossiers": dossiers, "drafts": drafts})


def _timeline(dossier: Dossier) -> list:
    """The dossier's events; where the clock resumed or restarted, the new due date it gave."""
    from django.utils.dateparse import parse_datetime

    events = list(dossier.events.order_by("at", "id"))
    moved = [e for e in events if e.clock_effect in ("resume", "restart", "extend")]
    for event in events:
        event.new_due = event.clock_new_due or parse_datetime(str((event.data or {}).get("due_at") or ""))
    if moved and moved[-1].new_due is None:
        moved[-1].new_due = dossier.due_at  # the latest move of the clock gave today's due date
    return events


@applicant_required
@require_GET
def dossier_detail(request: HttpRequest, reference: str) -> HttpResponse:
    dossier = _own_dossier(request, reference)
    selectors.personal_data_read(actor=request.user, dossiers=[dossier], purpose="applicant views own dossier")
    from procedures.documents import documents_available
    from procedures.lifecycle import allowed_actions
    from procedures.models_national import DossierRating

    actions = {a.name for a in allowed_actions(dossier, request.user)}
    items, total, _timing = fees_due(dossier)
    last_supplement = dossier.events.filter(kind="supplement_requested").order_by("-at").first()
    return render(
        request,
        "citizens/dossier_detail.html",
        {
            "dossier": dossier,
            "events": _timeline(dossier),
            "documents": dossier.documents.all(),
            "official": documents_available(dossier) if dossier.code else [],
            "payments": dossier.payments.order_by("-created_at"),
            "fee_items": items,
            "fee_total": total,
            "days_left": _working_days_left(dossier),
            "expected": _expected_now(dossier),
            "can_withdraw": "withdraw" in actions,
            "can_supplement": dossier.state == Dossier.State.SUPPLEMENT_REQUESTED,
            "supplement_note": last_supplement.reason if last_supplement else "",
            "rating": dossier.ratings.filter(source=DossierRating.Source.PORTAL).first(),
            "can_rate": dossier.state == Dossier.State.RETURNED,
            "rating_form": RatingForm(),
            "supplement_form": SupplementForm(),
        },
    )


@applicant_required
@require_GET
def dossier_document(request: HttpRequest, reference: str, doc_id: int) -> FileResponse:
    dossier = _own_dossier(request, reference)
    document = dossier.documents.filter(pk=doc_id).first()
    if document is None:
        raise Http404
    selectors.personal_data_read(actor=request.user, dossiers=[dossier], purpose="applicant downloads own document")
    return _attachment(
        document.file, name=document.original_name, content_type=document.content_type, scan_status=document.scan_status
    )


@applicant_required
@require_POST
def dossier_supplement(request: HttpRequest, reference: str) -> HttpResponse:
    dossier = _own_dossier(request, reference)
    form = SupplementForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        apply_services.supplement_answer(
            dossier=dossier, user=request.user, files=request.FILES.getlist("files"), note=note
        )
    except ApplicationError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your supplement has been sent. The reception unit will check it."))
    return redirect("citizens:dossier", reference=dossier.reference)


@applicant_required
@require_http_methods(["GET", "POST"])
def dossier_withdraw(request: HttpRequest, reference: str) -> HttpResponse:
    dossier = _own_dossier(request, reference)
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            apply_services.dossier_withdraw(dossier=dossier, user=request.user, reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            if exc.status == 404:
                raise Http404 from exc
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your dossier has been withdrawn."))
        return redirect("citizens:dossier", reference=dossier.reference)
    return render(
        request,
        "citizens/withdraw.html",
        {"dossier": dossier, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@applicant_required
@require_POST
def dossier_rate(request: HttpRequest, reference: str) -> HttpResponse:
    dossier = _own_dossier(request, reference)
    form = RatingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a rating."))
        return redirect("citizens:dossier", reference=dossier.reference)
    try:
        apply_services.dossier_rate(
            dossier=dossier, user=request.user, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"]
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Thank you for your rating."))
    return redirect("citizens:dossier", reference=dossier.reference)


# --- payment ----------------------------------------------------------------------------------------


@applicant_required
@require_POST
def payment_begin(request: HttpRequest, reference: str) -> HttpResponse:
    dossier = _own_dossier(request, reference)
    return_url = request.build_absolute_uri(reverse("citizens:payment-return", args=[dossier.reference]))
    callback_url = request.build_absolute_uri(reverse("citizens:payment-callback"))
    try:
        pay_url = payment_start(dossier=dossier, user=request.user, return_url=return_url, callback_url=callback_url)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("citizens:dossier", reference=dossier.reference)
    return redirect(pay_url)


@applicant_required
@require_GET
def payment_return(request: HttpRequest, reference: str) -> HttpResponse:
    """Where the payer comes back; what counts is the signed callback, so this page only reports it."""
    dossier = _own_dossier(request, reference)
    payment = dossier.payments.filter(order_id=request.GET.get("order_id", "")[:40]).first()
    if payment is None:
        raise Http404
    if payment.status == Payment.Status.PAID:
        messages.success(
            request, _("Payment received. Receipt number %(number)s.") % {"number": payment.receipt_number}
        )
    elif payment.status == Payment.Status.FAILED:
        messages.error(request, _("The payment did not go through. You can try again."))
    else:
        messages.info(request, _("We are waiting for the payment service to confirm your payment."))
    return redirect("citizens:dossier", reference=dossier.reference)


@applicant_required
@require_GET
def payment_receipt(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    dossier = _own_dossier(request, reference)
    payment = dossier.payments.filter(pk=pk, status=Payment.Status.PAID).first()
    if payment is None:
        raise Http404
    return render(request, "citizens/payment_receipt.html", {"dossier": dossier, "payment": payment})


@csrf_exempt
@require_POST
def payment_callback_view(request: HttpRequest) -> HttpResponse:
    """The payment service's signed server-to-server callback (CSRF-exempt: the HMAC signature is the check)."""
    try:
        payment = payment_callback(body=request.body, signature=request.headers.get("X-Signature", ""))
    except CallbackRefused as exc:
        logger.warning("payment callback refused: %s", exc)
        return JsonResponse({"ok": False, "error": "refused"}, status=400)
    return JsonResponse({"ok": True, "status": payment.status})


# --- feedback, look-up, personal data --------------------------------------------------------------


@applicant_required
@require_http_methods(["GET", "POST"])
@limit("feedback-user", key=user_or_ip_key, method="POST")
def feedback_list(request: HttpRequest) -> HttpResponse:
    dossiers = list(selectors.dossier_list_for_applicant(user=request.user)[:100])
    procedures = list(selectors.procedure_list_published().order_by("code")[:300])
    initial = {}
    if request.GET.get("dossier"):
        initial["about"] = f"d:{request.GET['dossier'][:32]}"
    form = FeedbackForm(request.POST or None, dossiers=dossiers, procedures=procedures, initial=initial)
    if request.method == "POST" and form.is_valid():
        about = form.cleaned_data["about"]
        dossier = procedure = None
        if about.startswith("d:"):
            dossier = _own_dossier(request, about[2:])
        else:
            procedure = next((p for p in procedures if str(p.pk) == about[2:]), None)
            if procedure is None:
                raise Http404
        try:
            feedback = feedback_send(
                user=request.user,
                kind=form.cleaned_data["kind"],
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                dossier=dossier,
                procedure=procedure,
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("Sent. The answer is due by %(due)s.")
                % {"due": timezone.localtime(feedback.due_at).strftime("%d/%m/%Y")},
            )
            return redirect("citizens:feedback-detail", pk=feedback.pk)
    items = Feedback.objects.filter(user=request.user).select_related("dossier", "procedure")
    return render(
        request,
        "citizens/feedback_list.html",
        {"form": form, "items": items},
        status=400 if request.method == "POST" else 200,
    )


@applicant_required
@require_GET
def feedback_detail(request: HttpRequest, pk: int) -> HttpResponse:
    feedback = Feedback.objects.filter(user=request.user, pk=pk).select_related("dossier", "procedure").first()
    if feedback is None:
        raise Http404
    return render(request, "citizens/feedback_detail.html", {"feedback": feedback})


@applicant_required
@require_GET
def data_access(request: HttpRequest) -> HttpResponse:
    """Who read the applicant's personal data (gateway message log and audit trail)."""
    reads = personal_data_reads(user=request.user, national_id=request.applicant.national_id)
    return render(request, "citizens/data_access.html", {"reads": reads})


@require_http_methods(["GET", "POST"])
@limit("lookup-ip", method="POST")
@limit("lookup-code", key=lookup_code_key, method="POST")
def lookup(request: HttpRequest) -> HttpResponse:
    """Public look-up without an account: dossier code plus the secret on the receipt; shows status only."""
    form = LookupForm(request.POST or None)
    dossier = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            dossier = public_lookup(code=form.cleaned_data["code"], secret=form.cleaned_data["secret"])
            if dossier is None:
                form.add_error(None, _("No dossier matches this code and secret. Check both on your receipt."))
                status = 404
        else:
            status = 400
    return render(
        request,
        "citizens/lookup.html",
        {"form": form, "dossier": dossier, "days_left": _working_days_left(dossier) if dossier else None},
        status=status,
    )


def dossier_lookup_context(dossier: Dossier) -> dict:
    """Context for the receipt template: print `lookup_secret` beside the dossier code."""
    return {"lookup_secret": apply_services.public_lookup_secret(dossier=dossier)}
