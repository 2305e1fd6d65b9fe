from decimal import Decimal

from django.db import migrations

# kind (feed.Engagement.Kind value), weight. Acts that cost the reader something (a comment, a
# share, a trade click) are worth more than a glance; time spent is per minute, capped per post.
WEIGHTS = [(1, "0.100"), (2, "0.500"), (3, "1.000"), (5, "2.000"), (6, "3.000"), (8, "3.000"), (10, "4.000")]


def add_weights(apps, schema_editor):
    ActionWeight = apps.get_model("incentives", "ActionWeight")
    for kind, weight in WEIGHTS:
        ActionWeight.objects.get_or_create(kind=kind, defaults={"weight": Decimal(weight)})


def remove_weights(apps, schema_editor):
    apps.get_model("incentives", "ActionWeight").objects.filter(kind__in=[kind for kind, _ in WEIGHTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("incentives", "0002_ledger_balances_and_is_append_only")]

    operations = [migrations.RunPython(add_weights, remove_weights)]
