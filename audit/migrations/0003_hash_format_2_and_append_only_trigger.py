"""Hash format 2 (every stored field, linked after commit) without re-chaining what is written.

Existing entries keep their format-1 hashes (hash_version=1) and take their id as chain position,
the order they were chained in. On PostgreSQL a trigger refuses DELETE and any UPDATE except the one
linking step (an unlinked entry gets its chain columns once, nothing else may change)."""

from django.db import migrations, models

CONTENT_COLUMNS = [
    "id",
    "at",
    "actor_id",
    "actor_email",
    "source",
    "ip",
    "request_id",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "custody_id",
    "changes",
    "message",
    "hash_version",
]

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.entry_hash IS NULL AND NEW.entry_hash IS NOT NULL AND NEW.chain_seq IS NOT NULL
       AND ({new}) IS NOT DISTINCT FROM ({old}) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();
""".format(
    new=", ".join(f"NEW.{c}" for c in CONTENT_COLUMNS),
    old=", ".join(f"OLD.{c}" for c in CONTENT_COLUMNS),
)

DROP_SQL = """
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_entry_append_only();
"""


def position_old_entries(apps, schema_editor):
    table = apps.get_model("audit", "AuditEntry")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET chain_seq = id, hash_version = 1 WHERE chain_seq IS NULL")


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_auditentry_source_import"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="hash_version",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="chain_seq",
            field=models.BigIntegerField(blank=True, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="entry_hash",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.RunPython(position_old_entries, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditentry",
            name="hash_version",
            field=models.PositiveSmallIntegerField(default=2),
        ),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
