"""Register pages."""

from django.urls import path

from inventory.views import identity, imports, register, sources

app_name = "inventory"

urlpatterns = [
    path("identities/", register.IdentityListView.as_view(), name="identity_list"),
    path("identities/export.csv", register.IdentityExportView.as_view(), name="identity_export"),
    path("identities/bulk/", register.BulkAssignView.as_view(), name="identity_bulk"),
    path("identities/<uuid:code>/", identity.IdentityDetailView.as_view(), name="identity_detail"),
    path("identities/<uuid:code>/edit/", identity.IdentityEditView.as_view(), name="identity_edit"),
    path("sources/", sources.SourceListView.as_view(), name="source_list"),
    path("import/", imports.ImportView.as_view(), name="import"),
]
