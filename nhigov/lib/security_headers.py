"""Response headers every page gets: a strict Content-Security-Policy, and the caching and
referrer rules for sensitive pages.

The CSP allows no inline script, no inline style and no `style=` attribute: every page is
built from templates/base.html and vendored files under static/. A view that needs
something else sets its own Content-Security-Policy header, which is then left alone.

Sensitive pages (owner links, identity detail, exports, the audit log, API tokens, the
API itself) are marked `Cache-Control: no-store` so neither the browser nor a shared proxy
keeps a copy; owner-link pages also send `Referrer-Policy: no-referrer` so the token in
their URL never leaks to another site through the Referer header. Pages are matched by URL
name (see NO_STORE_VIEWS / NO_REFERRER_VIEWS) or marked with the `no_store` and
`no_referrer` decorators.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)

# URL names (fnmatch patterns on "namespace:name") whose responses are never stored.
NO_STORE_VIEWS = (
    "reviews:link",
    "reviews:link_task",
    "inventory:identity_detail",
    "inventory:identity_edit",
    "*export*",
    "evidence:*",
    "*audit*",
    "*token*",
    "admin:*",
    # allauth: sign-in, password reset links, MFA setup and recovery codes, SSO.
    "account_*",
    "mfa_*",
    "socialaccount_*",
)
# Everything under the API is per-user data: never cached, whatever the endpoint.
NO_STORE_PATH_PREFIXES = ("/api/",)
# Owner-link pages carry their secret token in the URL.
NO_REFERRER_VIEWS = ("reviews:link", "reviews:link_task")


def _matches(view_name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatchcase(view_name, pattern) for pattern in patterns)


def no_store(view: Callable) -> Callable:
    """Mark a view's responses `Cache-Control: no-store` (and private, max-age=0)."""
    view.nhigov_no_store = True
    return view


def no_referrer(view: Callable) -> Callable:
    """Mark a view's responses `Referrer-Policy: no-referrer`."""
    view.nhigov_no_referrer = True
    return view


class SecurityHeadersMiddleware:
    """Adds the CSP to every response and applies the sensitive-page rules above."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        view_name, marks = self._view_of(request)
        if getattr(marks, "nhigov_no_referrer", False) or _matches(view_name, NO_REFERRER_VIEWS):
            response.headers["Referrer-Policy"] = "no-referrer"
        if (
            getattr(marks, "nhigov_no_store", False)
            or _matches(view_name, NO_STORE_VIEWS)
            or request.path_info.startswith(NO_STORE_PATH_PREFIXES)
        ):
            add_never_cache_headers(response)
        return response

    def process_view(self, request: HttpRequest, view_func: Callable, args, kwargs) -> None:
        # Kept for __call__: the resolved view carries the decorators' marks.
        request._nhigov_view_func = view_func

    @staticmethod
    def _view_of(request: HttpRequest) -> tuple[str, object]:
        match = getattr(request, "resolver_match", None)
        view_name = match.view_name if match else ""
        return view_name, getattr(request, "_nhigov_view_func", None)

