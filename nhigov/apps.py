from django.apps import AppConfig
from django.db.models.signals import post_migrate


class NhigovConfig(AppConfig):
    name = "nhigov"
    verbose_name = "nhigov core"

    def ready(self) -> None:
        from nhigov.lib.groups import ensure_role_groups

        # Sent once per app; harmless to repeat, and the last call sees every permission.
        post_migrate.connect(ensure_role_groups, dispatch_uid="nhigov_role_groups")
