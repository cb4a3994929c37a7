"""API v1 routes: the register's viewsets, the OpenAPI schema and its docs page.

The schema and docs need a role like every other endpoint: the schema describes the
register's shape and is no business of anonymous visitors.
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from inventory.api.views import CredentialViewSet, IdentityViewSet, SourceViewSet, SyncRunViewSet
from inventory.risk.api import (
    FindingViewSet,
    PolicyVersionViewSet,
    RuleViewSet,
    SnapshotViewSet,
)
from nhigov.evidence.api import EvidencePackAPIView
from nhigov.lib.api_permissions import RolePermission
from ownership.api import PersonViewSet, TeamViewSet
from reviews.api import AttestationViewSet, CampaignViewSet

router = DefaultRouter()
router.register("identities", IdentityViewSet, basename="api-identity")
router.register("credentials", CredentialViewSet, basename="api-credential")
router.register("people", PersonViewSet, basename="api-person")
router.register("teams", TeamViewSet, basename="api-team")
router.register("sources", SourceViewSet, basename="api-source")
router.register("sync-runs", SyncRunViewSet, basename="api-syncrun")
router.register("findings", FindingViewSet, basename="api-finding")
router.register("risk-rules", RuleViewSet, basename="api-risk-rule")
router.register("policy-versions", PolicyVersionViewSet, basename="api-policy-version")
router.register("risk-snapshots", SnapshotViewSet, basename="api-risk-snapshot")
router.register("campaigns", CampaignViewSet, basename="api-campaign")
router.register("attestations", AttestationViewSet, basename="api-attestation")

urlpatterns = [
    path(
        "schema/",
        SpectacularAPIView.as_view(permission_classes=[RolePermission]),
        name="api-schema",
    ),
    path(
        "docs/",
        # The split view serves its init script from ?script (no inline <script>: CSP).
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", permission_classes=[RolePermission]
        ),
        name="api-docs",
    ),
    path("evidence-packs/", EvidencePackAPIView.as_view(), name="api-evidence-pack"),
    path("", include("inventory.api.import_urls")),
    path("", include(router.urls)),
]
