"""Every username's confusable skeleton (creators/names.py), the key that tells look-alikes apart.

The oldest account keeps a skeleton; a younger look-alike that existed before the rule is left
without one (and listed here) so that the unique constraint of the next migration can hold. Its
owner keeps the name; an operator may rename it in admin, which gives it a skeleton again.
"""

from django.db import migrations, models

from creators.names import username_skeleton  # a pure function of the name, no models


def backfill_skeletons(apps, schema_editor):
    User = apps.get_model("creators", "User")
    seen: set[str] = set()
    batch = []
    for user in User.objects.order_by("date_joined", "pk").only("pk", "username").iterator(chunk_size=2000):
        key = username_skeleton(user.username)
        if key in seen:
            print(f"\n  Look-alike username left without a skeleton: {user.username!r} (id {user.pk})")
            continue
        seen.add(key)
        user.username_skeleton = key
        batch.append(user)
        if len(batch) >= 2000:
            User.objects.bulk_update(batch, ["username_skeleton"])
            batch = []
    User.objects.bulk_update(batch, ["username_skeleton"])


class Migration(migrations.Migration):
    dependencies = [
        ("creators", "0011_api_tokens"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="username_skeleton",
            field=models.CharField(blank=True, editable=False, max_length=600, null=True),
        ),
        migrations.RunPython(backfill_skeletons, migrations.RunPython.noop, elidable=True),
    ]
