"""The database cache table the rate-limit counters live in (shared by every server process)."""

from django.core.management import call_command
from django.db import migrations

TABLE = "custody_ratelimit_cache"


def create(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


class Migration(migrations.Migration):
    dependencies = []

    operations = [migrations.RunPython(create, drop)]
