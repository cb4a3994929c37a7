"""Security headers: the CSP everywhere, no-store and no-referrer on sensitive pages."""

import re

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from nhigov.lib.security_headers import CSP, SecurityHeadersMiddleware, no_referrer, no_store
from tests.factories import IdentityFactory

pytestmark = pytest.mark.django_db


def test_it_sends_the_strict_csp_on_every_page(client_for):
    for response in (Client().get("/accounts/login/"),
                     client_for("analyst").get("/identities/")):
        assert response["Content-Security-Policy"] == CSP
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'",
                      "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'"):
        assert directive in CSP
    assert "unsafe" not in CSP


def test_it_lets_ordinary_pages_be_cached_and_refer_same_origin(client_for):
    for url in ("/identities/", "/teams/", "/findings/"):
        response = client_for("analyst").get(url)
        assert "no-store" not in response.get("Cache-Control", ""), url
        assert response["Referrer-Policy"] == "same-origin", url


def test_it_never_stores_identity_pages_exports_or_api_responses(client_for):
    identity = IdentityFactory()
    client = client_for("analyst")
    for url in (f"/identities/{identity.code}/", "/identities/export.csv",
                "/api/v1/identities/", f"/api/v1/identities/{identity.code}/",
                "/api/v1/schema/", "/admin/", "/account/tokens/", "/accounts/2fa/",
                reverse("audit:log"), reverse("audit:export"), reverse("evidence:pack")):
        response = client.get(url)
        assert "no-store" in response["Cache-Control"], url
        assert "private" in response["Cache-Control"], url


def test_it_hides_the_owner_link_from_referers_and_caches():
    response = Client().get("/review/not-a-real-token-but-shaped-like-one/")
    assert response.status_code == 404
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    login = Client().get("/accounts/login/")  # allauth pages: never stored either
    assert "no-store" in login["Cache-Control"] and login["Referrer-Policy"] == "same-origin"


def test_it_applies_the_decorators_to_any_view():
    @no_store
    @no_referrer
    def view(request):
        return HttpResponse("ok")

    request = RequestFactory().get("/anything/")
    middleware = SecurityHeadersMiddleware(lambda r: view(r))
    middleware.process_view(request, view, (), {})
    response = middleware(request)
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"


def test_it_keeps_a_csp_the_view_set_itself():
    def view(request):
        response = HttpResponse("ok")
        response["Content-Security-Policy"] = "default-src 'none'"
        return response

    response = SecurityHeadersMiddleware(view)(RequestFactory().get("/x/"))
    assert response["Content-Security-Policy"] == "default-src 'none'"


def test_it_serves_the_api_docs_without_inline_script_or_style(client_for):
    client = client_for("auditor")
    page = client.get("/api/v1/docs/").content.decode()
    assert "<style" not in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    script = re.search(r'<script src="([^"]*script=[^"]*)"', page).group(1)
    response = client.get(script.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_it_keeps_inline_script_style_and_handlers_out_of_page_templates():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.I)
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.html")
        # Emails are read in mail clients and evidence/ is a report inside an exported
        # archive: neither is ever served under the portal's CSP.
        if not {"emails", "evidence"} & set(path.parts) and inline.search(path.read_text())
    ]
    assert offenders == []
