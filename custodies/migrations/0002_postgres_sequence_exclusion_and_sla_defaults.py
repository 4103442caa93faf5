from decimal import Decimal

from django.db import migrations

SLA_DEFAULTS = {  # reason: (approve, handover, close) hours, DESIGN §6
    "accident": (2, 1, 24),
    "breakdown": (1, 1, 12),
    "maintenance": (4, 2, 48),
    "damage": (2, 1, 24),
    "other": (4, 2, 24),
}

POSTGRES_FORWARD = [
    "CREATE SEQUENCE IF NOT EXISTS custody_no_seq START 1",
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    # A vehicle is never the replacement of two overlapping approved/active custodies.
    """ALTER TABLE custodies_custody ADD CONSTRAINT custody_replacement_no_overlap
       EXCLUDE USING gist (
         replacement_vehicle_id WITH =,
         tstzrange(reserved_from, reserved_until, '[)') WITH &&
       ) WHERE (status IN ('approved', 'active') AND replacement_vehicle_id IS NOT NULL
                AND reserved_from IS NOT NULL)""",
    # Trigram search over custody no., custodian, incident ref (pg_trgm may need superuser; skip if absent).
]
POSTGRES_BACKWARD = [
    "ALTER TABLE custodies_custody DROP CONSTRAINT IF EXISTS custody_replacement_no_overlap",
    "DROP SEQUENCE IF EXISTS custody_no_seq",
]


def postgres_forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in POSTGRES_FORWARD:
        schema_editor.execute(statement)


def postgres_backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in POSTGRES_BACKWARD:
        schema_editor.execute(statement)


def seed_sla(apps, schema_editor):
    SlaPolicy = apps.get_model("custodies", "SlaPolicy")
    for reason, (approve, handover, close) in SLA_DEFAULTS.items():
        SlaPolicy.objects.get_or_create(
            reason_code=reason, branch=None,
            defaults={"approve_within_hours": Decimal(approve), "handover_within_hours": Decimal(handover),
                      "close_within_hours": Decimal(close)},
        )


class Migration(migrations.Migration):
    dependencies = [("custodies", "0001_initial")]

    operations = [
        migrations.RunPython(postgres_forward, postgres_backward),
        migrations.RunPython(seed_sla, migrations.RunPython.noop),
    ]
