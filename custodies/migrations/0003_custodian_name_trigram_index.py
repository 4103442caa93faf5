"""PostgreSQL only: a trigram index for the custodian-name "contains" search of the custody list.

`custodian_name__icontains` compiles to `UPPER("custodian_name"::text) LIKE UPPER('%term%')`; a
GIN index on UPPER(custodian_name) with gin_trgm_ops answers it without reading the table
(docs/performance.md). pg_trgm ships with PostgreSQL's contrib package; when it is missing or the
role may not create it, the index is skipped and the search still works (sequential scan).

Built CONCURRENTLY (this migration is not atomic) so adding it to a big live table does not block
writes.
"""

import logging

from django.db import DatabaseError, migrations

logger = logging.getLogger(__name__)

INDEX = "custody_custodian_name_trgm"


def _trigram_available(cursor) -> bool:
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    if cursor.fetchone():
        return True
    cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    if not cursor.fetchone():
        return False
    try:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:  # e.g. not allowed to create extensions
        logger.warning("pg_trgm not created (%s); custodian-name search stays unindexed", exc)
        return False
    return True


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if not _trigram_available(cursor):
            return
        cursor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON custodies_custody "
            "USING gin ((UPPER(custodian_name::text)) gin_trgm_ops)"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("custodies", "0002_postgres_sequence_exclusion_and_sla_defaults")]

    operations = [migrations.RunPython(forward, backward)]
