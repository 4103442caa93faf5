"""PostgreSQL only: finer statistics for the custodian-name search's trigram index.

With the default statistics target the planner guesses how many custodies a name matches from 100
common values; for many last names it guessed ~750 where 17,000 match (1,000,000 custodies), chose to
read every match and sort them instead of walking the newest custodies, and a name search took 100-160
ms instead of 3 (docs/performance.md). A target of 1,000 on the index's expression gives estimates
within ~10 %; ANALYZE then reads a larger sample of the table (about 12 s at 1,000,000 custodies; it
does not block reads or writes).
"""

from django.db import migrations

INDEX = "custody_custodian_name_trgm"
TARGET = 1000


def _set(schema_editor, target: int) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_class WHERE relname = %s AND relkind = 'i'", [INDEX])
        if not cursor.fetchone():  # pg_trgm was not available (migration 0003)
            return
        cursor.execute(f"ALTER INDEX {INDEX} ALTER COLUMN 1 SET STATISTICS {target}")
        cursor.execute("ANALYZE custodies_custody")


def forward(apps, schema_editor):
    _set(schema_editor, TARGET)


def backward(apps, schema_editor):
    _set(schema_editor, -1)


class Migration(migrations.Migration):
    dependencies = [("custodies", "0007_original_vehicle_handover_index")]

    operations = [migrations.RunPython(forward, backward)]
