from django.apps import AppConfig
from django.db.models.signals import post_migrate


class NhigovConfig(AppConfig):
    name = "nhigov"
    verbose_name = "nhigov core"

    def ready(self) -> None:
        from django.core import checks

        from nhigov.lib import audit_logins, sessions
        from nhigov.lib.audit_signing import check_signing_key
        from nhigov.lib.groups import ensure_role_groups

        audit_logins.connect()
        checks.register(check_signing_key, "security")
        sessions.connect()  # session index, and deactivation ending sessions and tokens

        # Sent once per app; harmless to repeat, and the last call sees every permission.
        post_migrate.connect(ensure_role_groups, dispatch_uid="nhigov_role_groups")
