from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self):
        from django.db.backends.signals import connection_created

        from .pgloaders import use_c_timestamptz_loader

        # PostgreSQL: timestamptz through psycopg's C loader (core/pgloaders.py, issue 14).
        connection_created.connect(use_c_timestamptz_loader, dispatch_uid="core.pgloaders")
