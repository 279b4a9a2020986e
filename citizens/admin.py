"""Admin for citizen profiles: read-only, because VNeID is the source of every value."""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from citizens.models import CitizenProfile
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
