"""Session lifetime: idle and absolute timeouts, and ending a deactivated user's sessions.

Each session records when its user signed in and when it was last active. The middleware
signs a user out when the session has been idle longer than NHIGOV_SESSION_IDLE_MINUTES
or is older than NHIGOV_SESSION_MAX_HOURS, whatever the cookie's own expiry says, and
sends them to the login page with a message (HTMX requests get an HX-Redirect, so the
whole page goes there rather than a fragment). Activity is written to the session at most
once a minute, so idle time is measured to within that minute and a page view does not
cost a session write.

Every signed-in session's key is indexed per user (nhigov.models.UserSession), so when a
user is deactivated (is_active set to False, from admin or anywhere that saves the user)
all their sessions are deleted through the configured session engine and their API tokens
are revoked, at once. Django's auth backends also refuse inactive users on every request,
so a deactivation written by a bulk UPDATE (which sends no signal) still locks them out;
the signal is what removes the sessions and tokens themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from importlib import import_module
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from nhigov.lib.audit import Actor
from nhigov.models import UserSession

LOGIN_AT = "_nhigov_login_at"
SEEN_AT = "_nhigov_seen_at"
INDEXED = "_nhigov_indexed_key"
SEEN_EVERY = 60  # seconds between activity stamps
EXPIRED_MESSAGE = "Your session has expired. Please sign in again."


def _engine():
    return import_module(settings.SESSION_ENGINE).SessionStore


def index_session(request: HttpRequest, user) -> None:
    """Remember this session's key for `user` (on sign-in, and after any key change)."""
    key = request.session.session_key
    if not key:
        request.session.save()
        key = request.session.session_key
    UserSession.objects.update_or_create(
        session_key=key, defaults={"user": user, "created_at": timezone.now()})
    request.session[INDEXED] = key


def on_login(sender, request, user, **kwargs) -> None:
    """user_logged_in: start the clocks and index the session."""
    if request is None or not hasattr(request, "session"):
        return
    now = time.time()
    request.session[LOGIN_AT] = now
    request.session[SEEN_AT] = now
    index_session(request, user)
    # Sessions that simply lapsed were never signed out: past the absolute limit their
    # index rows are dead, so each sign-in prunes its user's.
    cutoff = timezone.now() - timedelta(hours=settings.NHIGOV_SESSION_MAX_HOURS)
    UserSession.objects.filter(user=user, created_at__lt=cutoff).delete()


def on_logout(sender, request, user, **kwargs) -> None:
    """user_logged_out: the session is flushed right after; drop it from the index."""
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        UserSession.objects.filter(session_key=key).delete()


def end_sessions(user) -> int:
    """Delete every indexed session of `user`; returns how many."""
    store = _engine()()
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    for key in keys:
        store.delete(key)
    UserSession.objects.filter(user=user).delete()
    return len(keys)


def remember_active_state(sender, instance, raw: bool = False, update_fields=None,
                          **kwargs) -> None:
    """pre_save on the user model: note whether the stored row was active."""
    if raw or instance.pk is None or (update_fields and "is_active" not in update_fields):
        instance._nhigov_was_active = None
        return
    stored = type(instance).objects.filter(pk=instance.pk).values_list("is_active", flat=True)
    instance._nhigov_was_active = stored.first()


def end_access_on_deactivation(sender, instance, created: bool = False, **kwargs) -> None:
    """post_save on the user model: active -> inactive ends sessions and revokes tokens."""
    if created or instance.is_active or not getattr(instance, "_nhigov_was_active", None):
        return
    from nhigov.lib import tokens  # imported here: tokens imports the audit models

    end_sessions(instance)
    tokens.revoke_all(instance, Actor.system("user deactivation"), "user deactivated")


def _expired(session, now: float) -> bool:
    login_at = session.get(LOGIN_AT)
    seen_at = session.get(SEEN_AT)
    if login_at is None or seen_at is None:
        return True  # signed in before these clocks existed: ask once to sign in again
    idle = settings.NHIGOV_SESSION_IDLE_MINUTES * 60
    return now - seen_at > idle or now - login_at > settings.NHIGOV_SESSION_MAX_HOURS * 3600


def _needs_login(request: HttpRequest) -> bool:
    """Whether the requested view needs a login (LoginRequiredMiddleware's rule); resolved
    here only for an expired session, which is rare."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return True
    return getattr(match.func, "login_required", True)


class SessionTimeoutMiddleware:
    """Sign out sessions past their idle or absolute limit (see the module docstring).
    Goes after AuthenticationMiddleware and MessageMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        # Reading the session's user id costs no user query; anonymous requests pass.
        if session.get(SESSION_KEY) is None:
            return self.get_response(request)
        now = time.time()
        if _expired(session, now):
            return self._sign_out(request) or self.get_response(request)
        if now - session[SEEN_AT] >= SEEN_EVERY:
            session[SEEN_AT] = now
        if session.get(INDEXED) != session.session_key and request.user.is_authenticated:
            index_session(request, request.user)  # the key changed since sign-in
        return self.get_response(request)

    @staticmethod
    def _sign_out(request: HttpRequest) -> HttpResponse | None:
        """Sign out; None lets the request go on anonymously (API calls get DRF's usual
        401/403, and pages open to anyone, such as owner links, simply render)."""
        logout(request)
        if request.path_info.startswith("/api/") or not _needs_login(request):
            return None
        messages.info(request, EXPIRED_MESSAGE)
        target = reverse(settings.LOGIN_URL)
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return HttpResponseRedirect(target)


def connect() -> None:
    """Wire the signals (NhigovConfig.ready)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.signals import user_logged_in, user_logged_out
    from django.db.models.signals import post_save, pre_save

    user_model = get_user_model()
    user_logged_in.connect(on_login, dispatch_uid="nhigov_sessions_login")
    user_logged_out.connect(on_logout, dispatch_uid="nhigov_sessions_logout")
    pre_save.connect(remember_active_state, sender=user_model,
                     dispatch_uid="nhigov_sessions_pre_save")
    post_save.connect(end_access_on_deactivation, sender=user_model,
                      dispatch_uid="nhigov_sessions_post_save")
