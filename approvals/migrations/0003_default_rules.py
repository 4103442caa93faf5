from decimal import Decimal

from django.db import migrations

DEFAULT_RULES = [  # DESIGN §5 defaults, first match wins
    {"name": "Maintenance free of charge, no damage hold: approve automatically", "priority": 10,
     "reason_codes": ["maintenance"], "rate_policies": ["free"], "max_damage_hold": Decimal("0"),
     "auto_approve": True, "levels": []},
    {"name": "Accident: supervisor then manager", "priority": 20, "reason_codes": ["accident"],
     "levels": [{"role": "supervisor", "due_hours": None}, {"role": "manager", "due_hours": 4}]},
    {"name": "Damage hold of 5,000 AED or more: supervisor then manager", "priority": 30,
     "min_damage_hold": Decimal("5000"),
     "levels": [{"role": "supervisor", "due_hours": None}, {"role": "manager", "due_hours": 4}]},
    {"name": "Everything else: supervisor", "priority": 1000,
     "levels": [{"role": "supervisor", "due_hours": None}]},
]


def seed(apps, schema_editor):
    ApprovalRule = apps.get_model("approvals", "ApprovalRule")
    if ApprovalRule.objects.exists():
        return
    for rule in DEFAULT_RULES:
        ApprovalRule.objects.create(**rule)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0002_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
