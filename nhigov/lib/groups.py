"""Create the role groups with their permissions after every migrate (idempotent)."""

from django.contrib.auth.models import Group, Permission

from nhigov.lib.roles import ROLE_PERMISSIONS


def ensure_role_groups(**kwargs) -> None:
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = Permission.objects.filter(codename__in=codenames)
        group.permissions.set(perms)
