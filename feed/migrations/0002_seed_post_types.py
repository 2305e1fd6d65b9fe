from django.db import migrations

POST_TYPES = [
    ("trade_share", "Trade share", "交易分享", 10),
    ("analysis", "Analysis", "行情分析", 20),
    ("education", "Education", "新手教程", 30),
    ("new_asset", "New assets & strategies", "新资产与策略", 40),
    ("news", "News", "资讯", 50),
    ("chat", "Chat", "闲聊", 60),
]


def add_post_types(apps, schema_editor):
    PostType = apps.get_model("feed", "PostType")
    for slug, name_en, name_zh, position in POST_TYPES:
        PostType.objects.update_or_create(
            slug=slug, defaults={"name_en": name_en, "name_zh": name_zh, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("feed", "0001_initial")]

    operations = [migrations.RunPython(add_post_types, migrations.RunPython.noop)]
