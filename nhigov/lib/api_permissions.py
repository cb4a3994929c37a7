"""The same role rules for the API as for the pages (see nhigov.lib.roles)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from nhigov.lib.roles import can_administer, can_edit, role_of


class RolePermission(BasePermission):
    """Any role may read (querysets are scoped per role); analysts and admins may write."""

    def has_permission(self, request, view) -> bool:
        if role_of(request.user) is None:
            return False
        if request.method in SAFE_METHODS:
            return True
        return can_edit(request.user)


class AdminWritePermission(BasePermission):
    """Readable by every role; changed only by admins (sources, policies)."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return role_of(request.user) is not None
        return can_administer(request.user)
