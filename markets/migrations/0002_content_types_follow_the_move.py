"""Content types follow the models to markets, so that permissions granted on them and admin history
stay attached. On a new database there is nothing to rename (content types are created after
migrating); where markets' content types already exist the old ones are left as they are."""

from django.db import migrations

MOVED = {
    "creators": ["tradingprofile", "exchangeevent", "fill", "position"],
    "feed": ["asset", "candle"],
}


def _relabel(apps, *, to_markets: bool):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for old_app, models in MOVED.items():
        source, target = ("markets", old_app) if not to_markets else (old_app, "markets")
        for model in models:
            if ContentType.objects.filter(app_label=target, model=model).exists():
                continue
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def forwards(apps, schema_editor):
    _relabel(apps, to_markets=True)


def backwards(apps, schema_editor):
    _relabel(apps, to_markets=False)


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("markets", "0001_move_exchange_models"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
