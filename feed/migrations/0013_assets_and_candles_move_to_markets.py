"""Asset and Candle now belong to markets; calls, posts and trade cards point there."""


import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('feed', '0012_translatable_admin_labels'),
        ('markets', '0001_move_exchange_models'),
    ]

    # State only: the columns and join tables keep pointing at the same tables, now markets' models.
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='call',
                    name='asset',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='calls', to='markets.asset'),
                ),
                migrations.DeleteModel(
                    name='Candle',
                ),
                migrations.AlterField(
                    model_name='post',
                    name='assets',
                    field=models.ManyToManyField(blank=True, related_name='posts', to='markets.asset'),
                ),
                migrations.AlterField(
                    model_name='tradecard',
                    name='fills',
                    field=models.ManyToManyField(blank=True, editable=False, related_name='trade_cards', to='markets.fill'),
                ),
                migrations.DeleteModel(
                    name='Asset',
                ),
            ],
        ),
    ]
