"""Counter intake and tracking-book pages (issue 7): thin views over procedures.counter and .tracking_book."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import RegexValidator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.errors import ApplicationError
from portal.uploads import ACCEPTED, check_upload, upload_name_clean, upload_quota_problem
from procedures import counter, selectors, tracking_book
from procedures.documents import dossier_receipt_get_or_render
from procedures.forms import PHONE_RE
from procedures.formschema import form_schema_fields
from procedures.models import CounterIntake, Dossier, ExportJob, ProcedureDocument, StaffProfile
from procedures.services import ApplicantData

MIME_BY_EXT = {ext.lstrip("."): mime for mime, exts in ACCEPTED.items() for ext in exts}


def _staff(request: HttpRequest) -> StaffProfile:
    profile = selectors.staff_profile_for(user=request.user)
    if profile is None:
        raise PermissionDenied
    return profile


def _clerk(request: HttpRequest) -> StaffProfile:
    profile = _staff(request)
    if profile.role not in counter.INTAKE_ROLES:
        raise PermissionDenied
    return profile


def _not_found(exc: ApplicationError):
    if exc.status == 404:
        raise Http404 from exc


# --- forms -----------------------------------------------------------------------------------------


class IdentifyForm(forms.Form):
    procedure = forms.ModelChoiceField(label=gettext_lazy("Procedure"), queryset=None, empty_label="—")
    qr_text = forms.CharField(
        label=gettext_lazy("QR code of the chip-based ID card"),
        required=False,
        max_length=1000,
        help_text=gettext_lazy("Scan the QR code on the front of the card: the scanner types its text here."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    personal_id = forms.CharField(
        label=gettext_lazy("Or type the personal ID number"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def __init__(self, *args, agency_id: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["procedure"].queryset = counter.counter_procedures(agency_id=agency_id)

    def clean(self) -> dict:
        data = super().clean()
        text = data.get("qr_text", "")
        typed = (data.get("personal_id") or "").replace(" ", "")
        data["qr"] = None
        if text.strip():
            try:
                data["qr"] = counter.card_qr_parse(text=text)
            except ValidationError as exc:
                self.add_error("qr_text", exc)
                return data
            if typed and typed != data["qr"].personal_id:
                self.add_error("personal_id", _("The typed number differs from the number in the QR code."))
            data["personal_id"] = data["qr"].personal_id
        elif not typed:
            raise ValidationError(_("Scan the QR code of the ID card or type the personal ID number."))
        else:
            data["personal_id"] = typed
        return data


def _label(field: dict) -> str:
    return field["label"] or field["name"]


def _schema_field(spec: dict) -> forms.Field:
    rule = spec.get("validation") or {}
    common = {"label": _label(spec), "required": False, "help_text": spec.get("help", "")}
    kind = spec["type"]
    if kind == "number":
        return forms.DecimalField(min_value=rule.get("min"), max_value=rule.get("max"), **common)
    if kind == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == "choice":
        return forms.ChoiceField(choices=[("", "—")] + [(o["value"], o["label"]) for o in spec["options"]], **common)
    if kind == "file":
        return forms.FileField(**common)
    validators = [RegexValidator(rule["pattern"])] if rule.get("pattern") else []
    widget = forms.Textarea(attrs={"rows": 2}) if kind == "address" else None
    return forms.CharField(
        max_length=rule.get("max_length", 2000 if kind == "address" else 500),
        min_length=rule.get("min_length"),
        validators=validators,
        widget=widget,
        **common,
    )


class ApplicationForm(forms.Form):
    """The applicant's details, the procedure's own form (its schema) and the scanned checklist."""

    full_name = forms.CharField(label=gettext_lazy("Full name"), max_length=200)
    birth_date = forms.DateField(
        label=gettext_lazy("Date of birth"), widget=forms.DateInput(attrs={"type": "date"}), required=False
    )
    address = forms.CharField(label=gettext_lazy("Address"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))
    phone = forms.CharField(label=gettext_lazy("Phone number"), max_length=20)
    email = forms.EmailField(label=gettext_lazy("Email"), required=False)
    request_summary = forms.CharField(
        label=gettext_lazy("What is requested"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, intake: CounterIntake, checklist: list[ProcedureDocument], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.intake = intake
        self.checklist = checklist
        self.verified_identity = intake.identity_status == Dossier.IdentityStatus.VERIFIED
        if self.verified_identity:  # from the population database: read-only, never taken from the browser
            for name in ("full_name", "birth_date"):
                self.fields[name].disabled = True
                self.fields[name].widget.attrs["readonly"] = True
        else:
            self.fields["birth_date"].required = True
        self.schema = form_schema_fields(intake.procedure.form_schema, get_language() or "vi")
        self.layout: list[dict] = []
        for spec in self.schema:
            if spec["type"] == "group":
                rows = max(1, int(spec.get("min") or 1))
                row_names = []
                for index in range(rows):
                    names = []
                    for child in spec["children"]:
                        name = f"f_{spec['name']}__{index}__{child['name']}"
                        self.fields[name] = _schema_field(child)
                        names.append(name)
                    row_names.append(names)
                self.layout.append({"spec": spec, "rows": row_names})
            else:
                name = f"f_{spec['name']}"
                self.fields[name] = _schema_field(spec)
                self.layout.append({"spec": spec, "name": name})

    # Rendering helpers ---------------------------------------------------------------------------
    def schema_layout(self) -> list[dict]:
        out = []
        for item in self.layout:
            if "name" in item:
                out.append({"spec": item["spec"], "field": self[item["name"]]})
            else:
                out.append({"spec": item["spec"], "rows": [[self[n] for n in names] for names in item["rows"]]})
        return out

    # Validation ----------------------------------------------------------------------------------
    def clean_phone(self) -> str:
        phone = "".join(ch for ch in self.cleaned_data["phone"] if ch not in " .-")
        if not PHONE_RE.match(phone):
            raise ValidationError(_("Enter a Vietnamese phone number, e.g. 0912345678."), code="phone")
        return phone

    def _value(self, name: str, spec: dict, answers: dict) -> Any:
        value = self.cleaned_data.get(name)
        if value in (None, "") and spec.get("required"):
            self.add_error(name, _("This field is required."))
            return None
        if spec["type"] == "id_number" and value:
            from citizens.validators import validate_personal_id

            try:
                validate_personal_id(value)
            except ValidationError as exc:
                self.add_error(name, exc)
        if spec["type"] == "file" and value:
            accepted = {MIME_BY_EXT[t] for t in spec["validation"].get("accepted_types", ["pdf"]) if t in MIME_BY_EXT}
            try:
                upload = check_upload(value, accepted=accepted or None)
            except ValidationError as exc:
                self.add_error(name, exc)
                return None
            self.scanned.append(counter.ScannedDocument(checklist_item=None, title=spec["label"], upload=upload))
            return {"file": upload.name, "sha256": upload.sha256}
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, decimal.Decimal):
            return str(value)
        return value

    def _shown(self, spec: dict, answers: dict) -> bool:
        cond = spec.get("show_if")
        return not cond or str(answers.get(cond["field"], "")) == str(cond["equals"])

    def clean(self) -> dict:
        data = super().clean()
        self.scanned: list[counter.ScannedDocument] = []
        answers: dict[str, Any] = {}
        for item in self.layout:
            spec = item["spec"]
            if not self._shown(spec, answers):
                continue
            if "name" in item:
                value = self._value(item["name"], spec, answers)
                if value not in (None, ""):
                    answers[spec["name"]] = value
                continue
            rows = []
            for names in item["rows"]:
                if not any(self.cleaned_data.get(n) not in (None, "") for n in names):
                    continue
                row: dict[str, Any] = {}
                for child, name in zip(spec["children"], names, strict=True):
                    if self._shown(child, row):
                        value = self._value(name, child, row)
                        if value not in (None, ""):
                            row[child["name"]] = value
                rows.append(row)
            if len(rows) < int(spec.get("min") or (1 if spec.get("required") else 0)):
                self.add_error(item["rows"][0][0], _("%(group)s: fill in at least one row.") % {"group": _label(spec)})
            if rows:
                answers[spec["name"]] = rows
        data["form_data"] = answers
        for doc in self.checklist:
            files = self.files.getlist(f"doc-{doc.order}") if self.files else []
            accepted = {MIME_BY_EXT[t] for t in doc.accepted_types.split(",") if t in MIME_BY_EXT}
            replaced = doc.replaced_by == ProcedureDocument.ReplacedBy.POPULATION_DB and self.verified_identity
            if not files and doc.required and not replaced:
                self.add_error(None, _("Scan and attach: %(doc)s.") % {"doc": doc.name})
            for upload in files:
                if upload.size > doc.max_size_mb * 1024 * 1024:
                    self.add_error(
                        None,
                        _("%(doc)s: the file %(name)s is larger than %(mb)s MB.")
                        % {"doc": doc.name, "name": upload_name_clean(upload.name), "mb": doc.max_size_mb},
                    )
                    continue
                try:
                    checked = check_upload(upload, accepted=accepted or None, actor=self.intake.clerk)
                except ValidationError as exc:
                    self.add_error(None, f"{doc.name} ({upload_name_clean(upload.name)}): {' '.join(exc.messages)}")
                    continue
                held = [s.upload.size for s in self.scanned]
                quota = upload_quota_problem(existing_count=len(held), existing_bytes=sum(held), size=checked.size)
                if quota:
                    self.add_error(None, f"{doc.name} ({checked.name}): {quota}")
                    continue
                self.scanned.append(counter.ScannedDocument(checklist_item=doc.order, title=doc.name, upload=checked))
        return data


def _checklist(intake: CounterIntake) -> list[ProcedureDocument]:
    docs = list(intake.procedure.documents.order_by("order", "id")) if intake.procedure else []
    for doc in docs:
        doc.accept = ",".join(f".{t.strip()}" for t in doc.accepted_types.split(",") if t.strip())
    return docs


def _initial(intake: CounterIntake) -> dict:
    birth = intake.birth_date if len(intake.birth_date or "") == 10 else None
    return {"full_name": intake.full_name, "birth_date": birth, "address": intake.residence}


# --- counter intake ----------------------------------------------------------------------------------


@login_required
@require_GET
def counter_home(request: HttpRequest) -> HttpResponse:
    profile = _clerk(request)
    recent = list(
        CounterIntake.objects.filter(clerk=request.user, dossier__isnull=False)
        .select_related("dossier", "dossier__procedure")
        .order_by("-created_at")[:20]
    )
    dossiers = [i.dossier for i in recent]
    selectors.personal_data_read(actor=request.user, dossiers=dossiers, purpose="counter: recent intakes")
    return render(request, "counter/home.html", {"profile": profile, "dossiers": dossiers})


@login_required
@require_POST
def counter_new(request: HttpRequest) -> HttpResponse:
    _clerk(request)
    intake = counter.counter_intake_start(actor=request.user)
    return redirect("counter:intake", token=intake.token)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def counter_intake(request: HttpRequest, token: str) -> HttpResponse:
    profile = _clerk(request)
    try:
        intake = counter.counter_intake_get(actor=request.user, token=token)
    except ApplicationError as exc:
        raise Http404 from exc
    if intake.dossier_id:
        return redirect("counter:done", pk=intake.dossier_id)
    step = request.POST.get("step", "") if request.method == "POST" else ""
    identify = IdentifyForm(
        request.POST if step == "identify" else None,
        agency_id=profile.agency_id,
        initial={"procedure": intake.procedure_id},
    )
    application = None
    status = 200
    if step == "identify":
        if identify.is_valid():
            data = identify.cleaned_data
            try:
                counter.counter_identity_confirm(
                    actor=request.user,
                    token=token,
                    personal_id=data["personal_id"],
                    qr=data["qr"],
                    procedure_id=data["procedure"].pk,
                )
            except ApplicationError as exc:
                _not_found(exc)
                identify.add_error(
                    exc.extra.get("field") if exc.extra.get("field") in identify.fields else None, exc.message
                )
            else:
                return redirect("counter:intake", token=token)
        status = 400
    elif intake.identified and intake.procedure_id:
        application = ApplicationForm(
            request.POST if step == "submit" else None,
            request.FILES if step == "submit" else None,
            intake=intake,
            checklist=_checklist(intake),
            initial=_initial(intake),
        )
        if step == "submit":
            if application.is_valid():
                data = application.cleaned_data
                birth = data.get("birth_date")
                try:
                    dossier, created = counter.counter_dossier_create(
                        actor=request.user,
                        token=token,
                        applicant=ApplicantData(
                            name=intake.full_name if application.verified_identity else data["full_name"],
                            national_id=intake.personal_id,
                            address=data["address"],
                            phone=data["phone"],
                            email=data.get("email", ""),
                        ),
                        birth_date=intake.birth_date if application.verified_identity else birth.isoformat(),
                        request_summary=data["request_summary"],
                        form_data=data["form_data"],
                        documents=application.scanned,
                    )
                except ApplicationError as exc:
                    _not_found(exc)
                    application.add_error(None, exc.message)
                else:
                    if created:
                        messages.success(
                            request,
                            _("Dossier received. Code %(code)s, result due %(due)s.")
                            % {"code": dossier.code, "due": timezone.localtime(dossier.due_at).strftime("%d/%m/%Y")},
                        )
                    return redirect("counter:done", pk=dossier.pk)
            status = 400
    if intake.identified:
        counter.counter_intake_read_record(actor=request.user, intake=intake)
    return render(
        request,
        "counter/intake.html",
        {
            "intake": intake,
            "identify": identify,
            "application": application,
            "checklist": application.checklist if application else [],
            "statuses": Dossier.IdentityStatus,
        },
        status=status,
    )


def _counter_dossier(request: HttpRequest, pk: int) -> Dossier:
    profile = _staff(request)
    return selectors.dossier_get_for_staff(profile=profile, pk=pk)


@login_required
@require_GET
def counter_done(request: HttpRequest, pk: int) -> HttpResponse:
    dossier = _counter_dossier(request, pk)
    selectors.personal_data_read(actor=request.user, dossiers=[dossier], purpose="counter: receipt page")
    return render(
        request,
        "counter/done.html",
        {"dossier": dossier, "documents": dossier.documents.visible_to_staff(), "statuses": Dossier.IdentityStatus},
    )


@login_required
@require_GET
def counter_receipt(request: HttpRequest, pk: int) -> FileResponse:
    """Form 01 of the dossier; rendered now if the after-commit task has not done it yet."""
    dossier = _counter_dossier(request, pk)
    if dossier.code is None:
        raise Http404
    selectors.personal_data_read(actor=request.user, dossiers=[dossier], purpose="counter: print receipt")
    document = dossier_receipt_get_or_render(dossier_id=dossier.pk)
    return FileResponse(
        document.file.open("rb"),
        content_type="application/pdf",
        as_attachment=request.GET.get("download") == "1",
        filename=f"{dossier.code}-giay-tiep-nhan.pdf",
    )


# --- tracking book -----------------------------------------------------------------------------------


class BookForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Format"), choices=ExportJob.Kind.choices, widget=forms.RadioSelect)
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    month = forms.CharField(
        label=gettext_lazy("Month"), required=False, widget=forms.DateInput(attrs={"type": "month"}), max_length=7
    )
    sector = forms.ChoiceField(label=gettext_lazy("Sector"), required=False)

    def __init__(self, *args, sectors: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sector"].choices = [(s, s or _("No sector")) for s in sectors]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") == ExportJob.Kind.PDF:
            month = data.get("month") or ""
            try:
                first = dt.date.fromisoformat(f"{month}-01")
            except ValueError:
                self.add_error("month", _("Choose a month (YYYY-MM)."))
                return data
            following = (first + dt.timedelta(days=32)).replace(day=1)
            data["date_from"], data["date_to"] = first, following - dt.timedelta(days=1)
        elif data.get("kind") == ExportJob.Kind.XLSX:
            for name in ("date_from", "date_to"):
                if not data.get(name):
                    self.add_error(name, _("This field is required."))
        return data


@login_required
@require_http_methods(["GET", "POST"])
def book_home(request: HttpRequest) -> HttpResponse:
    profile = _staff(request)
    sectors = tracking_book.sectors_for_agency(agency_id=profile.agency_id)
    today = timezone.localdate()
    form = BookForm(
        request.POST or None,
        sectors=sectors,
        initial={
            "kind": ExportJob.Kind.XLSX,
            "date_from": today.replace(day=1),
            "date_to": today,
            "month": today.strftime("%Y-%m"),
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = tracking_book.tracking_book_export_request(
                actor=request.user,
                kind=data["kind"],
                date_from=data["date_from"],
                date_to=data["date_to"],
                sector=data.get("sector") or "",
                language=get_language() or "vi",
            )
        except ApplicationError as exc:
            form.add_error(exc.extra.get("field") if exc.extra.get("field") in form.fields else None, exc.message)
        else:
            return redirect("counter:book-job", pk=job.pk)
    jobs = ExportJob.objects.filter(agency_id=profile.agency_id).select_related("created_by")[:20]
    return render(
        request,
        "counter/books.html",
        {"form": form, "jobs": jobs, "profile": profile},
        status=400 if request.method == "POST" else 200,
    )


def _job(request: HttpRequest, pk: int) -> ExportJob:
    _staff(request)
    try:
        return tracking_book.export_job_get_for_staff(actor=request.user, pk=pk)
    except ApplicationError as exc:
        raise Http404 from exc


@never_cache
@login_required
@require_GET
def book_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    template = "counter/_job_progress.html" if request.htmx else "counter/book_job.html"
    return render(request, template, {"job": job})


@login_required
@require_GET
def book_download(request: HttpRequest, pk: int) -> FileResponse:
    job = _job(request, pk)
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404
    tracking_book.export_job_download_record(actor=request.user, job=job)
    content_type = (
        "application/pdf"
        if job.kind == ExportJob.Kind.PDF
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return FileResponse(
        job.file.open("rb"),
        content_type=content_type,
        as_attachment=True,
        filename=job.file.name.rsplit("/", 1)[-1].split("-", 1)[-1],
    )
