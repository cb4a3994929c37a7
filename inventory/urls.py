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
    path("sources/new/", sources.SourceCreateView.as_view(), name="source_create"),
    path("sources/<uuid:code>/", sources.SourceDetailView.as_view(), name="source_detail"),
    path("sources/<uuid:code>/edit/", sources.SourceEditView.as_view(), name="source_edit"),
    path("sources/<uuid:code>/run/", sources.SourceRunView.as_view(), name="source_run"),
    path("sources/<uuid:code>/test/", sources.SourceTestView.as_view(), name="source_test"),
    path("sources/<uuid:code>/runs/<uuid:run_code>/review/", sources.HeldRunView.as_view(),
         name="source_held_run"),
    path("import/", imports.ImportView.as_view(), name="import"),
]
