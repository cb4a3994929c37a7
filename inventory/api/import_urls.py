"""API route for imports (placeholder until the importer lands)."""

urlpatterns: list = []
