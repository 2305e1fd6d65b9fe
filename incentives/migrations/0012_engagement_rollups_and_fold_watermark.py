"""The rollups the settlement reads instead of the raw week, and the fold's watermark
(incentives/folding.py). Empty tables: the first fold after this migration folds the whole log
(rows from before feed 0018 have no transaction id and are taken once, then)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("incentives", "0011_tips_and_transfer_reconciliation"),
        # The fold reads feed_engagement.xact.
        ("feed", "0018_engagement_transaction_id"),
    ]

    operations = [
        migrations.CreateModel(
            name="EngagementRollupWeek",
            fields=[
                ("week_starts_at", models.DateTimeField(primary_key=True, serialize=False)),
                ("week", models.CharField(max_length=8)),
                ("dwell_cap_ms", models.IntegerField(null=True)),
                ("last_occurred_at", models.DateTimeField()),
                ("events", models.BigIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="FoldWatermark",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                ("snapshot", models.TextField(null=True)),
                ("dwell_cap_ms", models.IntegerField(null=True)),
                ("folded_at", models.DateTimeField(null=True)),
                ("events_folded", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="PartlyFoldedTransaction",
            fields=[
                ("xact", models.BigIntegerField(primary_key=True, serialize=False)),
                ("folded_up_to_id", models.BigIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="EngagementRollup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("week_starts_at", models.DateTimeField()),
                ("reader_id", models.BigIntegerField(null=True)),
                ("creator_id", models.BigIntegerField()),
                ("post_id", models.BigIntegerField(null=True)),
                ("kind", models.SmallIntegerField()),
                ("events", models.IntegerField()),
                ("net", models.IntegerField()),
                ("first_at", models.DateTimeField()),
                ("last_at", models.DateTimeField(null=True)),
                ("dwell_ms", models.BigIntegerField()),
                ("min_dwell_ms", models.IntegerField()),
                ("fingerprint", models.BigIntegerField(null=True)),
                ("other_fingerprint", models.BigIntegerField(null=True)),
                ("network", models.BigIntegerField(null=True)),
            ],
            options={
                "indexes": [
                    models.Index(
                        condition=models.Q(("kind", 8), ("post_id__isnull", True)),
                        fields=["reader_id", "creator_id", "week_starts_at"],
                        name="engagement_rollup_follows",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("week_starts_at", "reader_id", "creator_id", "post_id", "kind"),
                        name="engagement_rollup_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="FoldedTradeClick",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reader_id", models.BigIntegerField()),
                ("post_id", models.BigIntegerField()),
                ("occurred_at", models.DateTimeField()),
            ],
            options={
                "indexes": [
                    models.Index(fields=["reader_id", "post_id", "occurred_at"], name="folded_click_reader_post")
                ],
            },
        ),
    ]
