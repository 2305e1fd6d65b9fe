from decimal import Decimal

from django.db import migrations

# Operators asked for extra weight on beginner education and on new assets and strategies;
# the rest start neutral. Bounds keep the daily rebalance from swinging any type too far.
DEFAULTS = {
    "education": ("1.50", "0.150", "0.80", "2.50"),
    "new_asset": ("1.40", "0.120", "0.80", "2.50"),
    "analysis": ("1.10", "0.200", "0.80", "1.50"),
    "trade_share": ("1.00", "0.180", "0.70", "1.30"),
    "news": ("1.00", "0.150", "0.70", "1.30"),
    "chat": ("0.80", "0.200", "0.50", "1.20"),
}


def add_weights(apps, schema_editor):
    PostType = apps.get_model("feed", "PostType")
    ContentTypeWeight = apps.get_model("ranking", "ContentTypeWeight")
    for post_type in PostType.objects.all():
        base, share, low, high = DEFAULTS.get(post_type.slug, ("1.00", "0.100", "0.80", "1.25"))
        ContentTypeWeight.objects.get_or_create(
            post_type=post_type,
            defaults={
                "base_weight": Decimal(base),
                "target_share": Decimal(share),
                "min_multiplier": Decimal(low),
                "max_multiplier": Decimal(high),
                "multiplier": Decimal("1.00"),
            },
        )


class Migration(migrations.Migration):
    dependencies = [("ranking", "0001_tags_weights_interests"), ("feed", "0002_seed_post_types")]

    operations = [migrations.RunPython(add_weights, migrations.RunPython.noop)]
