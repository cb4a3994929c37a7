"""Sign-ins, failed sign-ins and sign-outs in the audit chain.

allauth signs in through `django.contrib.auth`, so Django's own signals cover the login
page, the admin and any future SSO alike. Nothing typed into the form is recorded for a
failed attempt: people paste passwords into the login field, so the attempt is recorded
against the account only when that account exists, and as "unknown account" otherwise.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from nhigov.lib.audit import Actor, Change, record
from nhigov.models import AuditEvent


def _client(request) -> dict:
    if request is None:
        return {}
    return {"ip": request.META.get("REMOTE_ADDR", ""), "path": request.path}


def _request_id(request) -> str:
    return getattr(request, "request_id", "") if request is not None else ""


def _through_http(request) -> bool:
    """Sign-ins made in-process (the test client's force_login, a shell) never went through
    the middleware: no client, no request id, nothing an auditor could trace."""
    return request is not None and bool(getattr(request, "request_id", ""))


def on_login(sender, request, user, **kwargs) -> None:
    if not _through_http(request):
        return
    actor = Actor.for_user(user, _request_id(request))
    record(actor, Change("auth.login", "user", user.pk, actor.label, {}, _client(request)))


def on_logout(sender, request, user, **kwargs) -> None:
    if user is None or not _through_http(request):  # nobody was signed in: nothing changed
        return
    actor = Actor.for_user(user, _request_id(request))
    record(actor, Change("auth.logout", "user", user.pk, actor.label, {}, _client(request)))


def on_login_failed(sender, credentials: dict, request=None, **kwargs) -> None:
    user = _known_account(credentials)
    client = _client(request)
    label = f"anonymous ({client.get('ip') or 'no address'})"
    actor = Actor(AuditEvent.ActorType.USER, label, None, _request_id(request))
    if user is None:
        change = Change("auth.login_failed", "user", "", "unknown account", {}, client)
    else:
        change = Change("auth.login_failed", "user", user.pk, user.email or user.get_username(),
                        {}, client)
    record(actor, change)


def _known_account(credentials: dict):
    """The account an attempt named, by email or username; None when there is none.
    Django has already masked the password in `credentials`; only the login is read."""
    login = str(credentials.get("email") or credentials.get("username") or "").strip()
    if not login or len(login) > 254:
        return None
    users = get_user_model().objects
    return (users.filter(email__iexact=login).first()
            or users.filter(username__iexact=login).first())


def connect() -> None:
    user_logged_in.connect(on_login, dispatch_uid="nhigov_audit_login")
    user_logged_out.connect(on_logout, dispatch_uid="nhigov_audit_logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="nhigov_audit_login_failed")
