from django.db import migrations

TITLES = [
    ("newcomer", "Newcomer", "新人", 0),
    ("rising", "Rising creator", "潜力创作者", 100),
    ("established", "Established creator", "资深创作者", 1000),
    ("star", "Star creator", "明星创作者", 10000),
]


def add_titles(apps, schema_editor):
    CreatorTitle = apps.get_model("creators", "CreatorTitle")
    for slug, name_en, name_zh, min_followers in TITLES:
        CreatorTitle.objects.get_or_create(
            slug=slug, defaults={"name_en": name_en, "name_zh": name_zh, "min_followers": min_followers}
        )


class Migration(migrations.Migration):
    dependencies = [("creators", "0003_creator_titles")]

    operations = [migrations.RunPython(add_titles, migrations.RunPython.noop)]
