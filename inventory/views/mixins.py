"""Access mixins shared by the register's pages (rules in nhigov.lib.roles)."""

from django.core.exceptions import PermissionDenied

from inventory.models import Identity
from nhigov.lib.roles import can_administer, can_edit, role_of, scope_identities, sees_everything


class RoleRequiredMixin:
    """Refuse (403) users without any role; subclasses narrow with `allowed`."""

    def allowed(self, user) -> bool:
        return role_of(user) is not None

    def dispatch(self, request, *args, **kwargs):
        if not self.allowed(request.user):
            raise PermissionDenied("Your role does not give access to this page.")
        return super().dispatch(request, *args, **kwargs)


class ReadAllMixin(RoleRequiredMixin):
    """Pages over the whole register: analysts, auditors, admins."""

    def allowed(self, user) -> bool:
        return sees_everything(user)


class EditorMixin(RoleRequiredMixin):
    """Pages that change the register: analysts and admins."""

    def allowed(self, user) -> bool:
        return can_edit(user)


class AdminOnlyMixin(RoleRequiredMixin):
    def allowed(self, user) -> bool:
        return can_administer(user)


def visible_identities(user):
    """Every identity the user may see, with the relations list pages show."""
    base = Identity.objects.select_related(
        "source", "environment", "technical_owner", "business_owner", "team"
    )
    return scope_identities(user, base)
