"""django-allauth adapter: accounts are created by admins, never by self sign-up; and the
one sign-in page for the whole portal."""

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode


class NoSignupAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False


@login_not_required
def admin_login(request: HttpRequest) -> HttpResponseRedirect:
    """Django admin's own login form checks the password only: it would skip the second
    factor and the sign-in throttling. Send it to the portal's sign-in page instead."""
    next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    query = urlencode({REDIRECT_FIELD_NAME: next_url or reverse("admin:index")})
    return HttpResponseRedirect(f"{reverse('account_login')}?{query}")
