"""API route for imports (included under /api/v1/)."""

from django.urls import path

from inventory.api.imports import ImportAPIView

urlpatterns = [
    path("imports/", ImportAPIView.as_view(), name="api-import"),
]
