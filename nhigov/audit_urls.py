"""URLs of the auditor pages (nhigov.audit_views)."""

from django.urls import path

from nhigov import audit_views

app_name = "audit"
urlpatterns = [
    path("audit/", audit_views.AuditLogView.as_view(), name="log"),
    path("audit/export.csv", audit_views.AuditExportView.as_view(), name="export"),
    path("identities/<uuid:code>/timeline/", audit_views.IdentityTimelineView.as_view(),
         name="timeline"),
]
