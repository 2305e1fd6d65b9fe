from django.db import migrations, models

# A nullable column without a default: PostgreSQL only records it in the catalogue, so the
# append-only log is neither rewritten nor updated (0003's and 0008's triggers see nothing), and
# rows from before it read NULL ("unknown").


class Migration(migrations.Migration):
    dependencies = [("feed", "0014_engagement_follow_pair_index")]

    operations = [
        migrations.AddField(
            model_name="engagement",
            name="network_prefix",
            field=models.CharField(blank=True, max_length=32, null=True),
        ),
    ]
