from decimal import Decimal

from django.db import migrations

# The upper stages also ask for recent contribution (the score of the last four settled weeks),
# so followers bought or left over from long ago are not enough on their own.
THRESHOLDS = {"established": Decimal("100"), "star": Decimal("1000")}


def set_thresholds(apps, schema_editor):
    CreatorTitle = apps.get_model("creators", "CreatorTitle")
    for slug, needed in THRESHOLDS.items():
        CreatorTitle.objects.filter(slug=slug, min_recent_contribution=0).update(min_recent_contribution=needed)


def clear_thresholds(apps, schema_editor):
    CreatorTitle = apps.get_model("creators", "CreatorTitle")
    CreatorTitle.objects.filter(slug__in=THRESHOLDS).update(min_recent_contribution=0)


class Migration(migrations.Migration):
    dependencies = [("creators", "0005_title_contribution_threshold")]

    operations = [migrations.RunPython(set_thresholds, clear_thresholds)]
