"""Forms of the applicant and clerk screens; identity fields never come from the browser."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.uploads import CheckedUpload, check_upload

PHONE_RE = re.compile(r"^(\+84|0)\d{9,10}$")


class DossierApplyForm(forms.Form):
    """The short application form; name and ID number are shown read-only from the verified profile."""

    address = forms.CharField(label=_("Permanent address"), max_length=300)
    phone = forms.CharField(label=_("Phone number"), max_length=20)
    email = forms.EmailField(label=_("Email"), required=False)
    request_summary = forms.CharField(
        label=_("What do you request?"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )
    document = forms.FileField(
        label=_("Application document (PDF)"),
        help_text=_("PDF, JPG or PNG, checked by its content; at most 10 MB."),
    )

    def clean_phone(self) -> str:
        phone = re.sub(r"[\s.-]", "", self.cleaned_data["phone"])
        if not PHONE_RE.match(phone):
            raise ValidationError(_("Enter a Vietnamese phone number, e.g. 0912345678."), code="phone")
        return phone

    def clean_address(self) -> str:
        address = self.cleaned_data["address"].strip()
        if len(address) < 5:
            raise ValidationError(_("Enter the full address."), code="address")
        return address

    def clean_document(self) -> CheckedUpload:
        return check_upload(self.cleaned_data["document"])
