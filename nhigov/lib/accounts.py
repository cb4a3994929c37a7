"""django-allauth adapter: accounts are created by admins, never by self sign-up."""

from allauth.account.adapter import DefaultAccountAdapter


class NoSignupAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False
