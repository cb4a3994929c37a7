"""Roles (Django groups) and the rules that scope what each role may see and change.

analyst: everything except administering sources and users; owner: only identities they
own, read-only in the portal (decisions come through reviews); auditor: reads everything,
changes nothing; admin: everything.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

ADMIN, ANALYST, AUDITOR, OWNER = "admin", "analyst", "auditor", "owner"
ROLES = (ADMIN, ANALYST, AUDITOR, OWNER)

# Model permissions given to each group, so Django admin and has_perm agree with the roles.
_VIEW = ["view_identity", "view_credential", "view_source", "view_syncrun", "view_environment",
         "view_person", "view_team", "view_auditevent"]
_EDIT = ["change_identity", "add_person", "change_person", "add_team", "change_team",
         "add_environment", "change_environment"]
_SOURCES = ["add_source", "change_source", "delete_source"]
# Admins administer users and their roles (group membership) in Django admin; users are
# deactivated, never deleted, so their audit trail keeps a name.
_USERS = ["view_user", "add_user", "change_user", "view_group"]
ROLE_PERMISSIONS = {
    ADMIN: _VIEW + _EDIT + _SOURCES + _USERS,
    ANALYST: _VIEW + _EDIT,
    AUDITOR: _VIEW,
    OWNER: ["view_identity", "view_credential"],
}


def role_of(user) -> str | None:
    """The user's strongest role, or None for anonymous users and users with no role."""
    if not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return ADMIN
    cached = getattr(user, "_nhigov_role", "unset")
    if cached != "unset":
        return cached
    names = set(user.groups.values_list("name", flat=True))
    role = next((r for r in ROLES if r in names), None)
    user._nhigov_role = role
    return role


def sees_everything(user) -> bool:
    return role_of(user) in (ADMIN, ANALYST, AUDITOR)


def can_edit(user) -> bool:
    return role_of(user) in (ADMIN, ANALYST)


def can_administer(user) -> bool:
    return role_of(user) == ADMIN


def owned_by(user) -> Q:
    """Identities where the user's Person is technical, business or backup owner."""
    return (
        Q(technical_owner__user=user) | Q(business_owner__user=user) | Q(backup_owner__user=user)
    )


def scope_identities(user, queryset: QuerySet) -> QuerySet:
    """Restrict an Identity queryset to what `user` may see."""
    if sees_everything(user):
        return queryset
    if role_of(user) == OWNER:
        return queryset.filter(owned_by(user))
    return queryset.none()


def role_context(request) -> dict:
    """Template context: the role and what the navigation may offer."""
    user = getattr(request, "user", None)
    return {
        "role": role_of(user),
        "can_edit": can_edit(user),
        "can_administer": can_administer(user),
        "sees_everything": sees_everything(user),
    }
