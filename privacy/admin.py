"""Staff answer data-subject requests, keep the retention periods and the breach register in the admin."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from portal.audit import audit_record
from privacy.models import BreachRecord, PrivacyRequest, RetentionAction, RetentionPolicy
from privacy.services import privacy_request_answer


class PrivacyRequestAdminForm(forms.ModelForm):
    class Meta:
        model = PrivacyRequest
        fields = ["status", "answer"]
        widgets = {"answer": forms.Textarea(attrs={"rows": 6})}

    def clean(self):
        data = super().clean()
        if data.get("status") in PrivacyRequest.CLOSED and not (data.get("answer") or "").strip():
            self.add_error("answer", _("Write the answer to the data subject."))
        return data


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(admin.ModelAdmin):
    form = PrivacyRequestAdminForm
    list_display = ["reference", "kind", "status", "received_at", "due_at", "overdue"]
    list_filter = ["status", "kind"]
    search_fields = ["reference"]
    readonly_fields = [
        "reference",
        "subject",
        "kind",
        "details",
        "consent",
        "received_at",
        "due_at",
        "deadline_hours",
        "answered_at",
        "answered_by",
    ]
    fields = [*readonly_fields, "status", "answer"]

    @admin.display(boolean=True, description=_("overdue"))
    def overdue(self, obj: PrivacyRequest) -> bool:
        return obj.is_overdue

    def has_add_permission(self, request) -> bool:
        return False  # data subjects file requests; staff answer them

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_closed:
            return False
        return super().has_change_permission(request, obj)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            with transaction.atomic():  # reading a request shows the subject's details: audited
                audit_record(action="personal_data.read", actor=request.user, obj=obj, reason="privacy request")
        return obj

    def save_model(self, request, obj, form, change):
        privacy_request_answer(request_id=obj.pk, actor=request.user, status=obj.status, answer=obj.answer)


class AuditedAdmin(admin.ModelAdmin):
    """Every save and delete writes an audit record in the same transaction."""

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                action=f"{obj._meta.label_lower}.{'changed' if change else 'added'}",
                actor=request.user,
                obj=obj,
                data={"fields": sorted(form.changed_data)},
            )

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit_record(action=f"{obj._meta.label_lower}.deleted", actor=request.user, obj=obj)
            super().delete_model(request, obj)


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(AuditedAdmin):
    list_display = ["document_class", "retention_months", "action", "legal_basis", "active"]
    list_filter = ["active", "action"]


@admin.register(RetentionAction)
class RetentionActionAdmin(admin.ModelAdmin):
    list_display = ["at", "action", "document_class", "object_id", "dossier_id"]
    list_filter = ["action", "document_class"]
    readonly_fields = [f.name for f in RetentionAction._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BreachRecord)
class BreachRecordAdmin(AuditedAdmin):
    list_display = [
        "reference",
        "detected_at",
        "subjects_affected",
        "sensitive_data",
        "notify_due_at",
        "authority_notified_at",
        "late",
        "status",
    ]
    list_filter = ["status", "sensitive_data"]
    readonly_fields = ["reference", "notify_due_at", "recorded_by", "recorded_at"]

    @admin.display(boolean=True, description=_("notified late"))
    def late(self, obj: BreachRecord) -> bool:
        return obj.notified_late

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
