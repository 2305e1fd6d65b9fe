from django.db import migrations
from django.db.models import Min


def drop_repeated_likes(apps, schema_editor):
    """Like/unlike cycling left one like notification per cycle: keep the first of each reader and
    post, so that 0010's unique constraint can hold."""
    Notification = apps.get_model("feed", "Notification")
    likes = Notification.objects.filter(verb="like")
    first_ids = likes.values("recipient_id", "actor_id", "post_id").annotate(first=Min("id")).values("first")
    likes.exclude(id__in=first_ids).delete()


class Migration(migrations.Migration):
    dependencies = [("feed", "0008_engagement_refuses_truncate")]

    operations = [migrations.RunPython(drop_repeated_likes, migrations.RunPython.noop)]
