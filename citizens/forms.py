"""Forms of the applicant portal; identity fields never come from the browser."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from citizens.models import Feedback
from procedures.forms import PHONE_RE
from procedures.formschema import form_schema_fields

TAX_OR_ID_RE = re.compile(r"^([0-9]{12}|[0-9]{10}(-[0-9]{3})?)$")


def _phone(value: str) -> str:
    phone = re.sub(r"[\s.-]", "", value or "")
    if phone and not PHONE_RE.match(phone):
        raise ValidationError(gettext_lazy("Enter a Vietnamese phone number, e.g. 0912345678."), code="phone")
    return phone


class ApplicantStepForm(forms.Form):
    """Step 1: contact details, addresses not held, and whether the applicant acts for someone else."""

    address = forms.CharField(label=gettext_lazy("Permanent address"), max_length=300, required=False)
    current_residence = forms.CharField(label=gettext_lazy("Current residence"), max_length=300, required=False)
    phone = forms.CharField(label=gettext_lazy("Phone number"), max_length=20)
    email = forms.EmailField(label=gettext_lazy("Email"), required=False)
    on_behalf = forms.BooleanField(label=gettext_lazy("I apply on behalf of someone else (authorised)"), required=False)
    principal_name = forms.CharField(
        label=gettext_lazy("Name of the person or organisation you act for"), max_length=200, required=False
    )
    principal_id_number = forms.CharField(
        label=gettext_lazy("Their personal ID number or tax code"), max_length=14, required=False
    )
    principal_address = forms.CharField(label=gettext_lazy("Their address"), max_length=300, required=False)
    principal_phone = forms.CharField(label=gettext_lazy("Their phone number"), max_length=20, required=False)
    principal_email = forms.EmailField(label=gettext_lazy("Their email"), required=False)

    def __init__(self, *args: Any, address_held: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.address_held = address_held
        if address_held:
            self.fields["address"].disabled = True

    def clean_phone(self) -> str:
        phone = _phone(self.cleaned_data["phone"])
        if not phone:
            raise ValidationError(_("Enter your phone number."), code="required")
        return phone

    def clean_principal_phone(self) -> str:
        return _phone(self.cleaned_data.get("principal_phone", ""))

    def clean(self) -> dict:
        data = super().clean()
        if not self.address_held and len((data.get("address") or "").strip()) < 5:
            self.add_error("address", _("Enter the full address."))
        if data.get("on_behalf"):
            if not (data.get("principal_name") or "").strip():
                self.add_error("principal_name", _("Enter the name of the person or organisation you act for."))
            if not TAX_OR_ID_RE.match((data.get("principal_id_number") or "").strip()):
                self.add_error(
                    "principal_id_number",
                    _("Enter a 12-digit personal ID number or a 10-digit (or 13-character) tax code."),
                )
        return data


def _schema_field(spec: dict) -> forms.Field | None:
    validation = spec.get("validation") or {}
    common = {"label": spec["label"], "help_text": spec.get("help") or "", "required": False}
    kind = spec["type"]
    if kind in ("text", "id_number"):
        validators = []
        if validation.get("pattern"):
            validators.append(forms.RegexField(regex=validation["pattern"]).validators[0])
        return forms.CharField(
            max_length=validation.get("max_length", 500),
            min_length=validation.get("min_length"),
            validators=validators,
            **common,
        )
    if kind == "address":
        return forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}), **common)
    if kind == "number":
        return forms.DecimalField(min_value=validation.get("min"), max_value=validation.get("max"), **common)
    if kind == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == "choice":
        return forms.ChoiceField(choices=[("", "—")] + [(o["value"], o["label"]) for o in spec["options"]], **common)
    return None  # groups and files: not asked online yet (the checklist carries the files)


class SchemaForm(forms.Form):
    """Step 2: the procedure's own form (its JSON schema), plus what is requested."""

    request_summary = forms.CharField(
        label=gettext_lazy("What do you request?"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args: Any, schema: dict, language: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.specs = [s for s in form_schema_fields(schema, language) if _schema_field(s) is not None]
        for spec in self.specs:
            self.fields[f"f_{spec['name']}"] = _schema_field(spec)

    def _shown(self, spec: dict, data: dict) -> bool:
        cond = spec.get("show_if")
        return not cond or str(data.get(f"f_{cond['field']}") or "") == str(cond["equals"])

    def clean(self) -> dict:
        data = super().clean()
        for spec in self.specs:
            key = f"f_{spec['name']}"
            if spec["required"] and self._shown(spec, data) and data.get(key) in (None, ""):
                self.add_error(key, _("This field is required."))
        return data

    def answers(self) -> dict[str, Any]:
        result = {}
        for spec in self.specs:
            value = self.cleaned_data.get(f"f_{spec['name']}")
            if value in (None, "") or not self._shown(spec, self.cleaned_data):
                continue
            result[spec["name"]] = value.isoformat() if isinstance(value, dt.date) else str(value)
        return result


def schema_answers_problems(schema: dict, answers: dict) -> list[str]:
    """Required questions of SCHEMA left unanswered in ANSWERS (for the review step)."""
    problems = []
    specs = [s for s in form_schema_fields(schema or {}, "vi") if _schema_field(s) is not None]
    for spec in specs:
        cond = spec.get("show_if")
        shown = not cond or str(answers.get(cond["field"]) or "") == str(cond["equals"])
        if spec["required"] and shown and not answers.get(spec["name"]):
            problems.append(_("Answer “%(question)s”.") % {"question": spec["label"]})
    return problems


class ContactCodeForm(forms.Form):
    channel = forms.ChoiceField(choices=[("email", "email"), ("phone", "phone")])
    code = forms.CharField(label=gettext_lazy("Confirmation code"), max_length=6, required=False)


class SupplementForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Note to the reception unit"), max_length=2000, required=False, widget=forms.Textarea
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason (optional)"), max_length=2000, required=False)
    confirm = forms.BooleanField(label=gettext_lazy("I understand that withdrawing cannot be undone"))


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        label=gettext_lazy("How satisfied are you?"),
        coerce=int,
        widget=forms.RadioSelect,
        choices=[
            (3, gettext_lazy("Very satisfied")),
            (2, gettext_lazy("Satisfied")),
            (1, gettext_lazy("Dissatisfied")),
        ],
    )
    comment = forms.CharField(label=gettext_lazy("Comment"), max_length=2000, required=False, widget=forms.Textarea)


class FeedbackForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Feedback.Kind.choices)
    about = forms.ChoiceField(
        label=gettext_lazy("About"),
        error_messages={"invalid_choice": gettext_lazy("Choose one of your dossiers or a service from the list.")},
    )
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200)
    body = forms.CharField(label=gettext_lazy("Content"), max_length=5000, widget=forms.Textarea(attrs={"rows": 6}))

    def __init__(self, *args: Any, dossiers=(), procedures=(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["about"].choices = [
            (
                _("My dossiers"),
                [(f"d:{d.reference}", f"{d.code or d.reference} — {d.procedure.code}") for d in dossiers],
            ),
            (_("Services"), [(f"p:{p.pk}", f"{p.code} — {p.name}") for p in procedures]),
        ]


class LookupForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Dossier code or submission reference"), max_length=64)
    secret = forms.CharField(label=gettext_lazy("Look-up secret printed on the receipt"), max_length=40)
