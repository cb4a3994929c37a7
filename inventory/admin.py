"""Django admin for admins: sources, environments, identities, credentials, runs."""

from django.contrib import admin

from inventory.models import Credential, Environment, Identity, Source, SyncRun


class CredentialInline(admin.TabularInline):
    model = Credential
    extra = 0
    fields = ["kind", "external_id", "fingerprint", "status", "expires_at", "last_used_at"]


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "provider", "environment", "zone", "privilege", "status"]
    list_filter = ["kind", "provider", "zone", "privilege", "status", "source"]
    search_fields = ["name", "path", "external_id"]
    raw_id_fields = ["technical_owner", "business_owner", "backup_owner", "team"]
    readonly_fields = ["code", "first_seen_at", "last_seen_at", "missing_since", "data_hash"]
    show_full_result_count = False  # no COUNT(*) over a million rows
    inlines = [CredentialInline]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "enabled", "schedule"]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["source", "status", "started_at", "finished_at", "seen", "created", "missing"]
    list_filter = ["status", "source"]


admin.site.register(Environment)
