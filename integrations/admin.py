"""The outbox delivery ledger (read-only, one action to replay dead letters) and the DVCQG reconciliation reports."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from integrations.api import GatewayClientRateThrottle
from integrations.gateway_models import GatewayClient, GatewayMessage
from integrations.models import NationalPortalReconciliation, OutboxMessage
from integrations.outbox import outbox_replay
from portal.admin import ReadOnlyAdminMixin
from portal.audit import audit_record

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django.http import HttpRequest

MASKED_PAYLOAD_KEYS = frozenset({"applicant_id", "applicant_email", "applicant_phone"})


def _mask(value: object) -> object:
    if not isinstance(value, str) or not value:
        return value
    return "•" * max(len(value) - 3, 3) + value[-3:] if len(value) > 6 else "•" * len(value)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """The delivery ledger: what went where, when, by which worker, and what failed."""

    list_display = (
        "id",
        "topic",
        "key",
        "sequence",
        "state",
        "attempts",
        "short_error",
        "next_attempt_at",
        "delivered_at",
        "delivered_by",
    )
    list_filter = ("state", "topic", ("delivered_at", admin.DateFieldListFilter))
    search_fields = ("key", "idempotency_key")
    ordering = ("-id",)
    date_hierarchy = "created_at"
    actions = ("replay_dead_letters",)
    fields = (
        "topic",
        "key",
        "sequence",
        "idempotency_key",
        "state",
        "attempts",
        "next_attempt_at",
        "lease_until",
        "last_error",
        "created_at",
        "delivered_at",
        "delivered_by",
        "pretty_payload",
    )
    readonly_fields = fields

    @admin.display(description=_("last error"))
    def short_error(self, obj: OutboxMessage) -> str:
        """Return the first line of the last error, shortened for the list."""
        first_line = obj.last_error.splitlines()[0] if obj.last_error else ""
        return first_line[:120] + ("…" if len(first_line) > 120 else "")

    @admin.display(description=_("payload"))
    def pretty_payload(self, obj: OutboxMessage) -> str:
        """Return the payload as indented JSON, contact and ID fields masked."""
        payload = obj.payload
        if isinstance(payload, dict):
            # The ledger is for operators chasing deliveries; they need no ID numbers or contacts.
            payload = {k: _mask(v) if k in MASKED_PAYLOAD_KEYS else v for k, v in payload.items()}
        return format_html("<pre>{}</pre>", json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True))

    @admin.action(description=_("Replay dead letters"), permissions=["change"])
    def replay_dead_letters(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        """Send the selected dead letters again."""
        count = outbox_replay(message_ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext("%(count)d dead letter was queued again.", "%(count)d dead letters were queued again.", count)
            % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )

    # The ledger records what happened: rows are written by the relay only, never by hand.
    def has_add_permission(self, request: HttpRequest) -> bool:
        """Refuse: messages are written by services."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        """Refuse: the ledger is kept."""
        return False


@admin.register(NationalPortalReconciliation)
class NationalPortalReconciliationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Daily reports comparing DVCQG with our latest delivered dossier states: read-only."""

    list_display = (
        "started_at",
        "period_start",
        "period_end",
        "checked",
        "matching",
        "repaired",
        "missing",
        "portal_ahead",
        "portal_behind",
        "in_flight",
        "errors",
    )
    date_hierarchy = "started_at"
    ordering = ("-started_at",)
    fields = (
        "started_at",
        "finished_at",
        "period_start",
        "period_end",
        "checked",
        "matching",
        "repaired",
        "missing",
        "portal_ahead",
        "portal_behind",
        "in_flight",
        "errors",
        "pretty_differences",
    )
    readonly_fields = fields

    @admin.display(description=_("differing dossiers"))
    def pretty_differences(self, obj: NationalPortalReconciliation) -> str:
        """Return the differing dossiers as indented JSON (codes, statuses and times only)."""
        return format_html("<pre>{}</pre>", json.dumps(obj.differences, ensure_ascii=False, indent=2))


# --- Population-database gateway -----------------------------------------------------------------


class GatewayClientForm(forms.ModelForm):
    """Scopes are picked from the gateway's list, never typed."""

    scopes = forms.MultipleChoiceField(
        label=_("scopes"), choices=GatewayClient.Scope.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = GatewayClient
        fields = ("code", "name", "is_active", "scopes", "daily_quota", "rate", "cert_fingerprint")

    def clean_rate(self) -> str:
        rate = self.cleaned_data["rate"].strip()
        try:
            GatewayClientRateThrottle().parse_rate(rate)
        except (ValueError, KeyError, IndexError) as exc:
            raise forms.ValidationError(_("Write the rate as a number per s, min, hour or day, e.g. 60/min.")) from exc
        return rate


@admin.register(GatewayClient)
class GatewayClientAdmin(admin.ModelAdmin):
    """The health systems allowed to call the gateway; API keys are issued once and stored as digests."""

    form = GatewayClientForm
    list_display = ("code", "name", "is_active", "scope_list", "daily_quota", "rate", "key_prefix", "created_at")
    list_filter = ("is_active",)
    search_fields = ("code", "name", "key_prefix")
    readonly_fields = ("key_prefix", "created_at")
    actions = ["issue_new_key"]

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: GatewayClient) -> str:
        return ", ".join(obj.scopes or [])

    @admin.action(description=_("Issue a new API key (the old one stops working)"))
    def issue_new_key(self, request, queryset):
        with transaction.atomic():
            for client in queryset.select_for_update():
                key = client.issue_key()
                audit_record(action="gateway.client_key_issued", actor=request.user, obj=client)
                self.message_user(
                    request,
                    _("New API key for %(code)s, shown only now: %(key)s") % {"code": client.code, "key": key},
                    messages.WARNING,
                )


@admin.register(GatewayMessage)
class GatewayMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The gateway's message log: append-only and hash-chained, so read-only here."""

    list_display = (
        "at",
        "caller",
        "acting_user",
        "operation",
        "outcome",
        "record_count",
        "duration_ms",
        "dossier_code",
    )
    list_filter = ("operation", "outcome", "caller")
    search_fields = ("request_id", "dossier_code", "acting_user")
    date_hierarchy = "at"
