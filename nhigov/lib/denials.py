"""Every refused request, logged in one place.

One middleware sees every response on its way out, so a refusal is logged however it was
made: `PermissionDenied` in a page's mixin, a DRF permission class, a CSRF failure, or a
404 from a role-scoped queryset (owners get 404 for objects outside their scope, so that
existence is not revealed; the log still says it was a refusal). Views need no code of
their own for it.

Each denial goes to the `nhigov.security` logger (for the SIEM), always. It is also
appended to the audit log as `access.denied`, but at most once per user (or client
address), method and page per `DENIAL_AUDIT_SECONDS`: every append takes the chain's lock,
so auditing every refusal would let one scripted client slow every real change down and
bury them in noise. The log line says when the audit event was folded into an earlier one.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from nhigov.lib.roles import role_of

logger = logging.getLogger("nhigov.security")

ACTION = "access.denied"
# URL arguments that are secrets (owner-link tokens, allauth's reset and confirm keys):
# never written to a log or the audit chain.
SECRET_KWARGS = ("token", "key", "uidb36")
REDACTED = "[redacted]"


# The same secrets as they appear in raw paths, for log lines written by others
# (django.request's "Not Found: <path>", runserver's request lines).
SECRET_PATHS = re.compile(r"(/review/|/accounts/password/reset/key/|/accounts/confirm-email/)"
                          r"[^/\s?\"']+")


class RedactPathFilter(logging.Filter):
    """Logging filter: owner-link tokens and allauth keys out of request paths in logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = SECRET_PATHS.sub(lambda m: m.group(1) + REDACTED, message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class DenialLogMiddleware:
    """Log every 403, every 404 a signed-in user gets from a known page (a scoped lookup)
    and Django admin's redirect of a non-staff user, with user, role, method, path and
    request id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_denial(request, response.status_code):
            try:
                note_denial(request, response.status_code)
            except Exception:  # e.g. the database is down: the refusal must still go out
                logger.exception("could not record a denial of %s %s", request.method,
                                 safe_path(request))
        return response


def is_denial(request: HttpRequest, status: int) -> bool:
    if status == 403:
        return True
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    if match is None or not getattr(user, "is_authenticated", False):
        # 404s of unknown paths are typos and scanners; anonymous visitors are sent to
        # the login page (and owner-link refusals are audited by the reviews app).
        return False
    if status == 404:  # a known page: a scoped lookup (out of scope, or no such object)
        return True
    # Django admin refuses a signed-in non-staff user by sending them to its login page.
    return status == 302 and match.app_name == "admin" and not user.is_staff


def safe_path(request: HttpRequest) -> str:
    """The request path with secret URL arguments replaced."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    for name, value in (match.kwargs.items() if match else ()):
        if name in SECRET_KWARGS and value:
            path = path.replace(str(value), REDACTED)
    return path


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def describe(request: HttpRequest, status: int) -> dict:
    """What a denial record says: who, with which role, what was asked, and where."""
    # A read-only API token refused on a write: its user, not "anonymous" (tokens_auth).
    user = getattr(request, "nhigov_refused_user", None) or getattr(request, "user", None)
    signed_in = bool(getattr(user, "is_authenticated", False))
    match = getattr(request, "resolver_match", None)
    return {
        "user": (user.get_username() if signed_in else "anonymous"),
        "user_id": user.pk if signed_in else None,
        "role": role_of(user) or "none",
        "method": request.method,
        "path": safe_path(request),
        "view": (match.view_name if match else ""),
        "status": status,
        "request_id": getattr(request, "request_id", ""),
        "ip": client_ip(request),
    }


def note_denial(request: HttpRequest, status: int) -> dict:
    """Log one denial, and audit it unless the same one was audited within the window."""
    info = describe(request, status)
    audited = info["audited"] = _first_in_window(info)
    logger.warning(
        "access denied: user=%s role=%s method=%s path=%s status=%s request_id=%s audited=%s",
        info["user"], info["role"], info["method"], info["path"], status,
        info["request_id"], audited, extra={"denial": info},
    )
    if audited:
        _audit(info)
    return info


def _first_in_window(info: dict) -> bool:
    window = int(getattr(settings, "DENIAL_AUDIT_SECONDS", 60))
    if window <= 0:
        return True
    who = info["user_id"] or info["ip"]
    what = f"{who}|{info['method']}|{info['view'] or info['path']}|{info['status']}"
    key = "nhigov:denied:" + hashlib.sha256(what.encode()).hexdigest()[:32]
    try:
        return cache.add(key, 1, timeout=window)
    except Exception:  # cache down: audit rather than lose the record
        logger.exception("denial rate limit unavailable; auditing")
        return True


def record(*args, **kwargs) -> None:
    # Imported here: settings.LOGGING loads this module before the apps are ready.
    from nhigov.lib.audit import record as append

    append(*args, **kwargs)


def _audit(info: dict) -> None:
    from nhigov.lib.audit import Actor, Change
    from nhigov.models import AuditEvent

    if info["user_id"] is not None:
        actor = Actor(AuditEvent.ActorType.USER, info["user"], info["user_id"],
                      info["request_id"])
    else:
        actor = Actor(AuditEvent.ActorType.USER, f"anonymous ({info['ip']})", None,
                      info["request_id"])
    after = {k: info[k] for k in ("role", "method", "path", "view", "status", "ip")}
    change = Change(ACTION, "request", info["request_id"] or "-",
                    f"{info['method']} {info['path']}", {}, after)
    try:
        record(actor, change)
    except Exception:  # the refusal stands either way; the log line above has it all
        logger.exception("could not audit a denial (request_id=%s)", info["request_id"])
