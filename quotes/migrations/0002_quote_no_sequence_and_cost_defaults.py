from decimal import Decimal

from django.db import migrations


def postgres_forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE SEQUENCE IF NOT EXISTS quote_no_seq START 1")


def postgres_backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP SEQUENCE IF EXISTS quote_no_seq")


def seed_defaults(apps, schema_editor):
    CostDefaults = apps.get_model("quotes", "CostDefaults")
    if not CostDefaults.objects.exists():
        CostDefaults.objects.create(
            financing_rate_pct=Decimal("5.50"), overhead_pct=Decimal("8.00"), target_margin_pct=Decimal("15.00")
        )


class Migration(migrations.Migration):
    dependencies = [("quotes", "0001_initial")]

    operations = [
        migrations.RunPython(postgres_forward, postgres_backward),
        migrations.RunPython(seed_defaults, migrations.RunPython.noop),
    ]
