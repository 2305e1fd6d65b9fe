from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("feed", "0009_notification_drop_repeated_likes")]

    operations = [
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.UniqueConstraint(
                condition=models.Q(("verb", "like")),
                fields=("recipient", "actor", "post"),
                name="notification_one_like_per_actor",
            ),
        ),
    ]
