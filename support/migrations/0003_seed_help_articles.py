from django.db import migrations


def seed(apps, schema_editor):
    from support.help_content import seed as seed_articles

    seed_articles(apps.get_model("support", "HelpArticle"))


class Migration(migrations.Migration):
    dependencies = [("support", "0002_help_articles_and_tour")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
