"""A partial index on follow rows of the engagement log: the weekly settlement looks up each week's
follows in all earlier history, so a re-follow counts as a repeat."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built concurrently: the log takes writes all the time and is too large to lock.
    atomic = False

    dependencies = [
        ("feed", "0013_assets_and_candles_move_to_markets"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="engagement",
            index=models.Index(
                condition=models.Q(("kind", 8)),
                fields=["actor", "creator", "occurred_at"],
                name="engagement_follow_pair",
            ),
        ),
    ]
