"""Django admin for reviews: read-mostly views for admins (decisions happen on the pages;
the audit log records them). Tasks and links are never edited here."""

from django.contrib import admin

from nhigov.admin import ReadOnlyAdmin
from reviews.models import Attestation, Campaign, Delivery, Remediation


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "status", "opened_at", "due_date", "task_count",
                    "triage_count"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "period"]


@admin.register(Attestation)
class AttestationAdmin(ReadOnlyAdmin):
    list_display = ["code", "campaign", "role", "reviewer", "status", "decision", "decided_at"]
    list_filter = ["status", "decision", "role"]
    raw_id_fields = ["campaign", "identity", "reviewer", "team", "reassigned_from"]
    show_full_result_count = False  # no COUNT(*) over millions of tasks


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["recipient", "campaign", "kind", "key", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["recipient"]


@admin.register(Remediation)
class RemediationAdmin(ReadOnlyAdmin):
    list_display = ["identity", "kind", "status", "assignee", "created_at", "resolved_at"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["identity", "campaign", "attestation", "assignee"]
