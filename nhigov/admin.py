"""The audit log and API tokens in Django admin: read-only (tokens can only be revoked)."""

from django.contrib import admin

from nhigov.lib import tokens
from nhigov.lib.audit import Actor
from nhigov.lib.roles import can_administer
from nhigov.models import ApiToken, AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown in admin, never added, changed or deleted there (the audit log records changes
    made on the pages; append-only rows stay as written)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "object_repr", "reason"]
    list_filter = ["action", "actor_type"]
    show_full_result_count = False


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Every user's personal API tokens (never the token nor its hash); admins revoke them
    here, e.g. a token that leaked. Issuing is for the owner (/account/tokens/)."""

    list_display = ["name", "user", "prefix", "scope", "created_at", "last_used_at",
                    "expires_at", "revoked_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__email"]
    fields = ["name", "user", "prefix", "scope", "created_at", "last_used_at", "expires_at",
              "revoked_at"]
    readonly_fields = fields
    actions = ["revoke_selected"]
    show_full_result_count = False

    # Never deleted either: revoked tokens stay, so the audit trail's references hold.
    def has_view_permission(self, request, obj=None) -> bool:
        return can_administer(request.user)

    @admin.action(description="Revoke selected API tokens")
    def revoke_selected(self, request, queryset) -> None:
        actor = Actor.for_request(request)
        done = sum(tokens.revoke(token, actor, "revoked by an administrator")
                   for token in queryset.select_related("user"))
        self.message_user(request, f"{done} token(s) revoked.")
