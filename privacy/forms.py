from django import forms
from django.utils.translation import gettext_lazy as _

from privacy.models import PrivacyRequest
from privacy.services import FORM_KINDS


class PrivacyRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What are you asking for?"),
        choices=[(k.value, k.label) for k in FORM_KINDS],
    )
    details = forms.CharField(
        label=_("Details"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Which data, what is wrong and what it should be, or why you object."),
    )

    def kind_label(self) -> str:
        return str(PrivacyRequest.Kind(self.cleaned_data["kind"]).label)
