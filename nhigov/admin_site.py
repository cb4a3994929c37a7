"""Django admin opens to the admin role (group), not to a separate is_staff flag, so
there is one place that decides who administers nhigov."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

from nhigov.lib.roles import can_administer


class NhigovAdminSite(admin.AdminSite):
    site_header = "nhigov administration"
    site_title = "nhigov admin"

    def has_permission(self, request) -> bool:
        return request.user.is_active and can_administer(request.user)

    def register(self, model_or_iterable, admin_class=None, **options) -> None:
        # Every admin add, change and delete also goes into the audit chain.
        from nhigov.lib.audit_admin import audited

        super().register(model_or_iterable, audited(admin_class), **options)


class NhigovAdminConfig(AdminConfig):
    default_site = "nhigov.admin_site.NhigovAdminSite"
