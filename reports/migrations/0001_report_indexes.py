"""Indexes the period KPIs filter on (reports/kpis.py): approval, close and SLA due times, and
the automatic-approval lookup. Created here, not in the custodies model, because only reports reads
them; plain CREATE INDEX works on SQLite and PostgreSQL alike."""

from django.db import migrations

INDEXES = [
    ("report_custody_approved_at", "custodies_custody", "approved_at"),
    ("report_custody_closed_at", "custodies_custody", "closed_at"),
    ("report_custody_approve_due", "custodies_custody", "sla_approve_due_at"),
    ("report_custody_handover_due", "custodies_custody", "sla_handover_due_at"),
    ("report_custody_close_due", "custodies_custody", "sla_close_due_at"),
    ("report_approval_custody_round", "approvals_approval", "custody_id, round, role"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("custodies", "0001_initial"),
        ("approvals", "0002_initial"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})",
            f"DROP INDEX IF EXISTS {name}",
        )
        for name, table, columns in INDEXES
    ]
