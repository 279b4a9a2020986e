"""Admin for citizen profiles: read-only, because VNeID is the source of every value."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from citizens.models import CitizenProfile, Feedback, OrganisationProfile, Payment
from portal.audit import audit_record


@admin.register(CitizenProfile)
class CitizenProfileAdmin(admin.ModelAdmin):
    # The personal ID number appears on the detail page only, never in lists or search (it is encrypted, so a
    # search would not work anyway).
    list_display = ("full_name", "user", "assurance_level", "source", "verified_at")
    list_filter = ("assurance_level", "source")
    search_fields = ("full_name", "user__username")
    ordering = ("full_name",)
    fields = (
        "user",
        "full_name",
        "national_id",
        "birth_date",
        "sex",
        "assurance_level",
        "source",
        "vneid_subject",
        "verified_at",
        "updated_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: CitizenProfile | None = None) -> bool:
        # View-only: the change view renders the read-only fields for users with the view permission.
        return False

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        # The detail page shows the personal ID number in clear: record who looked at it.
        if request.method == "GET" and response.status_code == 200:
            with transaction.atomic():
                audit_record(
                    action="personal_data.read",
                    actor=request.user,
                    object_type=CitizenProfile._meta.label_lower,
                    object_id=str(object_id),
                    data={"purpose": "admin opens citizen profile"},
                )
        return response


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(OrganisationProfile)
class OrganisationProfileAdmin(_ReadOnly):
    # The legal representative's personal ID number is never listed (encrypted; shown nowhere in the admin).
    list_display = ("name", "tax_code", "representative_name", "assurance_level", "verified_at")
    search_fields = ("name", "tax_code")
    fields = ("user", "name", "tax_code", "representative_name", "assurance_level", "vneid_subject", "verified_at")
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(_ReadOnly):
    list_display = ("order_id", "dossier", "amount_vnd", "status", "receipt_number", "callbacks", "paid_at")
    list_filter = ("status", "timing")
    search_fields = ("order_id", "receipt_number", "provider_reference")


class FeedbackAnswerForm(forms.ModelForm):
    """The answer is required: an empty one is a form error, not a failing save (security.md T09 matrix)."""

    class Meta:
        model = Feedback
        fields = ["answer"]

    def clean_answer(self) -> str:
        answer = (self.cleaned_data.get("answer") or "").strip()
        if not answer:
            raise forms.ValidationError(_("Write the answer."))
        return answer


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    """Staff answer feedback about their agency (the answer is saved through the service, audited)."""

    form = FeedbackAnswerForm
    list_display = ("subject", "kind", "agency", "status", "created_at", "due_at")
    list_filter = ("status", "kind")
    search_fields = ("subject",)
    fields = ("kind", "dossier", "procedure", "agency", "subject", "body", "created_at", "due_at", "answer", "status")
    readonly_fields = ("kind", "dossier", "procedure", "agency", "subject", "body", "created_at", "due_at", "status")

    def get_queryset(self, request: HttpRequest):
        qs = super().get_queryset(request).select_related("agency", "dossier", "procedure")
        if request.user.is_superuser:
            return qs
        profile = getattr(request.user, "staff_profile", None)
        return qs.filter(agency_id=profile.agency_id) if profile else qs.none()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Feedback, form, change: bool) -> None:
        from citizens.followup import feedback_answer

        feedback_answer(feedback_id=obj.pk, staff=request.user, answer=obj.answer)
