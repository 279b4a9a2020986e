from django.contrib import admin

from facilities.models import (
    DocumentEvent,
    Facility,
    FacilityAlert,
    FacilityCredential,
    FacilityMembership,
    HealthDocument,
)


class MembershipInline(admin.TabularInline):
    model = FacilityMembership
    extra = 0
    raw_id_fields = ("user",)


class CredentialInline(admin.TabularInline):
    model = FacilityCredential
    extra = 0
    fields = ("label", "key_prefix", "is_active", "created_at", "last_used_at")
    readonly_fields = ("key_prefix", "created_at", "last_used_at")

    def has_add_permission(self, request, obj=None):
        return False  # keys are issued with `manage.py facility_api_key` (shown once)


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "province_code", "is_active", "is_illustrative")
    search_fields = ("code", "name")
    exclude = ("signing_key_passphrase",)
    readonly_fields = ("certificate_pem",)
    inlines = [MembershipInline, CredentialInline]


@admin.register(FacilityAlert)
class FacilityAlertAdmin(admin.ModelAdmin):
    """The ministry's list of missed service levels (also at /facilities/alerts/)."""

    list_display = ("document", "facility", "kind", "due_at", "raised_at", "resolved_at", "retried")
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter), "facility")
    readonly_fields = [f.name for f in FacilityAlert._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EventInline(admin.TabularInline):
    model = DocumentEvent
    extra = 0
    readonly_fields = ("at", "kind", "note")
    can_delete = False


@admin.register(HealthDocument)
class HealthDocumentAdmin(admin.ModelAdmin):
    """Delivery state only: the personal data stays encrypted and is not shown here."""

    list_display = (
        "number",
        "revision",
        "kind",
        "facility",
        "issued_at",
        "delivery_status",
        "verification_status",
        "is_current",
    )
    list_filter = ("kind", "delivery_status", "verification_status", "is_current", "facility")
    search_fields = ("number",)
    exclude = ("data_encrypted", "holder_hash", "second_holder_hash", "verify_token")
    readonly_fields = [
        f.name
        for f in HealthDocument._meta.fields
        if f.name not in ("data_encrypted", "holder_hash", "second_holder_hash", "verify_token")
    ]
    inlines = [EventInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
