from django.db import migrations

REQUIRED_AT_SUBMIT = {  # DESIGN §7
    "accident": ["incident_report", "photos", "customer_acknowledgment"],
    "breakdown": ["incident_report", "customer_acknowledgment"],
    "maintenance": ["customer_acknowledgment"],
    "damage": ["incident_report", "photos", "customer_acknowledgment"],
    "other": ["customer_acknowledgment"],
}


def seed(apps, schema_editor):
    DocumentRule = apps.get_model("documents", "DocumentRule")
    for reason, types in REQUIRED_AT_SUBMIT.items():
        for document_type in types:
            DocumentRule.objects.get_or_create(reason_code=reason, stage="submit", document_type=document_type)
    DocumentRule.objects.get_or_create(reason_code="", stage="handover", document_type="handover_checklist")
    DocumentRule.objects.get_or_create(reason_code="", stage="close", document_type="return_checklist")


class Migration(migrations.Migration):
    dependencies = [("documents", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
