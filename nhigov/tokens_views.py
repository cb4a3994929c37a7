"""/account/tokens/: a user's own personal API tokens — list, create (shown once), revoke.

Every signed-in user with a role manages only their own tokens here; creating and
revoking are audited (nhigov.lib.tokens). Users who cannot edit anything are offered
read-scoped tokens only, since a write scope would grant them nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from nhigov.lib import tokens
from nhigov.lib.audit import Actor
from nhigov.lib.roles import can_edit, role_of
from nhigov.models import ApiToken

LIFETIMES = (7, 30, 90, 180, 365)


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “CI pipeline”.")
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ,
                              widget=forms.RadioSelect)
    days = forms.TypedChoiceField(coerce=int, label="Expires in")

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        longest = settings.NHIGOV_API_TOKEN_MAX_DAYS
        days = sorted({d for d in LIFETIMES if d <= longest} | {longest})
        self.fields["days"].choices = [(d, f"{d} days") for d in days]
        self.fields["days"].initial = min(90, longest)
        if not can_edit(user):
            self.fields["scope"].choices = [(ApiToken.Scope.READ, ApiToken.Scope.READ.label)]


class _TokenView(View):
    def dispatch(self, request, *args, **kwargs):
        if role_of(request.user) is None:
            raise PermissionDenied("API tokens need a role")
        return super().dispatch(request, *args, **kwargs)


class TokenListView(_TokenView):
    """The user's tokens, and the form to create one; POST creates and shows it once."""

    template_name = "account/tokens.html"

    def get(self, request):
        return self.page(request, TokenForm(user=request.user))

    def post(self, request):
        form = TokenForm(request.POST, user=request.user)
        if not form.is_valid():
            return self.page(request, form, status=400)
        data = form.cleaned_data
        token, raw = tokens.issue(request.user, data["name"], data["scope"],
                                  timezone.now() + timedelta(days=data["days"]),
                                  Actor.for_request(request))
        # Rendered, not redirected: the token must not travel through a URL or the session.
        return self.page(request, TokenForm(user=request.user), created=token, raw=raw)

    def page(self, request, form, status=200, **extra):
        mine = ApiToken.objects.filter(user=request.user)
        context = {"form": form, "tokens": mine, "now": timezone.now(),
                   "max_days": settings.NHIGOV_API_TOKEN_MAX_DAYS, **extra}
        return render(request, self.template_name, context, status=status)


class TokenRevokeView(_TokenView):
    """POST only: revoke one of the user's own tokens."""

    http_method_names = ["post"]

    def post(self, request, code):
        # Scoped to the user: another user's token is a 404, not a 403 that confirms it.
        token = get_object_or_404(ApiToken.objects.select_related("user"), code=code,
                                  user=request.user)
        if tokens.revoke(token, Actor.for_request(request)):
            messages.success(request, f"Token “{token.name}” revoked; it no longer works.")
        return redirect("account_tokens")
