from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("creators", "0012_username_skeleton"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(fields=("username_skeleton",), name="user_username_skeleton_unique"),
        ),
    ]
