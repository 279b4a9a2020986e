from django.contrib import admin

from portal.models import AuditRecord


class ReadOnlyAdminMixin:
    """For records that are written by code only and kept as written (logs, reports, frozen versions)."""

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields or [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail is read-only everywhere, including here."""

    list_display = ("at", "actor_label", "action", "object_type", "object_id", "ip")
    list_filter = ("action",)
    search_fields = ("object_id", "actor_label", "request_id")
    date_hierarchy = "at"


# --- two-factor authenticators (security.md T06) ---------------------------------------------------------
from allauth.mfa.models import Authenticator  # noqa: E402
from django.contrib import messages  # noqa: E402
from django.utils.translation import gettext_lazy as _  # noqa: E402
from django.utils.translation import ngettext  # noqa: E402

admin.site.unregister(Authenticator)  # allauth's admin shows the (encrypted) secret and deletes unaudited


@admin.register(Authenticator)
class AuthenticatorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who has a second factor; the only change is the audited reset (the person then enrols again)."""

    list_display = ("user", "type", "created_at", "last_used_at")
    list_filter = ("type",)
    search_fields = ("user__username", "user__last_name")
    readonly_fields = ("user", "type", "created_at", "last_used_at")
    fields = readonly_fields
    actions = ["two_factor_reset_action"]

    @admin.action(description=_("Reset two-factor sign-in of the selected accounts"))
    def two_factor_reset_action(self, request, queryset):
        from portal.two_factor import two_factor_reset

        if not request.user.is_superuser:
            self.message_user(request, _("Only an administrator can reset two-factor sign-in."), messages.ERROR)
            return
        users = {a.user for a in queryset.select_related("user")}
        for user in users:
            two_factor_reset(user=user, actor=request.user, reason="admin action")
        self.message_user(
            request,
            ngettext(
                "Two-factor sign-in reset for %(count)d account; it must enrol again.",
                "Two-factor sign-in reset for %(count)d accounts; they must enrol again.",
                len(users),
            )
            % {"count": len(users)},
            messages.SUCCESS,
        )
