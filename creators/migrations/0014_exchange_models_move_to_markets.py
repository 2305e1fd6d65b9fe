"""Trading profiles, exchange events, fills and positions now belong to markets."""


from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('creators', '0013_username_skeleton_unique'),
        ('feed', '0013_assets_and_candles_move_to_markets'),
        ('markets', '0001_move_exchange_models'),
    ]

    # State only: markets owns these tables now (markets 0001); nothing is dropped.
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(
                    name='ExchangeEvent',
                ),
                migrations.RemoveField(
                    model_name='position',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='tradingprofile',
                    name='user',
                ),
                migrations.DeleteModel(
                    name='Fill',
                ),
                migrations.DeleteModel(
                    name='Position',
                ),
                migrations.DeleteModel(
                    name='TradingProfile',
                ),
            ],
        ),
    ]
