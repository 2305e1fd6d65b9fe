"""Assets, candles, trading profiles, exchange events, fills and positions move to markets."""


import django.contrib.postgres.fields
import django.contrib.postgres.indexes
import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('creators', '0013_username_skeleton_unique'),
        ('feed', '0012_translatable_admin_labels'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # The tables already exist (created by creators and feed, whose names they keep): this only tells
    # Django that markets owns them now. Reversing it forgets them again and drops nothing.
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='Asset',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('symbol', models.CharField(max_length=20, unique=True, validators=[django.core.validators.RegexValidator('^[A-Z0-9]{2,20}$', 'Use 2 to 20 upper-case letters or digits.')])),
                        ('name', models.CharField(max_length=80)),
                        ('is_listed', models.BooleanField(default=True, verbose_name='listed on the exchange')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'verbose_name': 'asset',
                        'verbose_name_plural': 'assets',
                        'db_table': 'feed_asset',
                        'ordering': ['symbol'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('symbol__regex', '^[A-Z0-9]{2,20}$')), name='asset_symbol_upper')],
                    },
                ),
                migrations.CreateModel(
                    name='Candle',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('instrument', models.CharField(max_length=48)),
                        ('bar', models.CharField(max_length=8)),
                        ('opened_at', models.DateTimeField()),
                        ('open', models.DecimalField(decimal_places=12, max_digits=32)),
                        ('high', models.DecimalField(decimal_places=12, max_digits=32)),
                        ('low', models.DecimalField(decimal_places=12, max_digits=32)),
                        ('close', models.DecimalField(decimal_places=12, max_digits=32)),
                        ('volume', models.DecimalField(decimal_places=12, default=0, max_digits=40)),
                        ('is_closed', models.BooleanField(default=True)),
                    ],
                    options={
                        'verbose_name': 'candle',
                        'verbose_name_plural': 'candles',
                        'db_table': 'feed_candle',
                        'constraints': [models.UniqueConstraint(fields=('instrument', 'bar', 'opened_at'), name='candle_once_per_bar'), models.CheckConstraint(condition=models.Q(('low__gt', 0), ('low__lte', models.F('high'))), name='candle_prices_sane')],
                    },
                ),
                migrations.CreateModel(
                    name='ExchangeEvent',
                    fields=[
                        ('key', models.CharField(max_length=128, primary_key=True, serialize=False)),
                        ('type', models.CharField(max_length=32)),
                        ('exchange_uid', models.CharField(max_length=64)),
                        ('occurred_at', models.DateTimeField()),
                        ('received_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('payload', models.JSONField()),
                    ],
                    options={
                        'verbose_name': 'exchange event',
                        'verbose_name_plural': 'exchange events',
                        'db_table': 'creators_exchangeevent',
                        'indexes': [django.contrib.postgres.indexes.BrinIndex(fields=['received_at'], name='exchange_event_received_brin')],
                    },
                ),
                migrations.CreateModel(
                    name='TradingProfile',
                    fields=[
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='trading_profile', serialize=False, to=settings.AUTH_USER_MODEL)),
                        ('exchange_uid', models.CharField(blank=True, max_length=64, null=True, unique=True)),
                        ('kyc_level', models.PositiveSmallIntegerField(choices=[(0, 'None'), (1, 'Basic'), (2, 'Verified'), (3, 'Advanced')], default=0)),
                        ('volume_tier', models.PositiveSmallIntegerField(choices=[(0, 'No trading'), (1, 'Light'), (2, 'Regular'), (3, 'Active'), (4, 'Whale')], default=0)),
                        ('traded_assets', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=20), blank=True, default=list, size=None)),
                        ('instruments', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(choices=[('spot', 'Spot'), ('perpetual', 'Perpetual'), ('options', 'Options'), ('earn', 'Earn')], max_length=16), blank=True, default=list, size=None)),
                        ('volume_30d_usd', models.DecimalField(decimal_places=2, default=0, max_digits=20)),
                        ('trades_30d', models.PositiveIntegerField(default=0)),
                        ('account_opened_at', models.DateTimeField(blank=True, null=True)),
                        ('last_trade_at', models.DateTimeField(blank=True, null=True)),
                        ('volume_by_asset', models.JSONField(blank=True, default=dict)),
                        ('is_frozen', models.BooleanField(default=False)),
                        ('linked_at', models.DateTimeField(blank=True, null=True)),
                        ('kyc_changed_at', models.DateTimeField(blank=True, null=True)),
                        ('frozen_changed_at', models.DateTimeField(blank=True, null=True)),
                        ('positions_at', models.DateTimeField(blank=True, null=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'verbose_name': 'trading profile',
                        'verbose_name_plural': 'trading profiles',
                        'db_table': 'creators_tradingprofile',
                        'constraints': [models.CheckConstraint(condition=models.Q(('kyc_level__lte', 3)), name='trading_kyc_level_known'), models.CheckConstraint(condition=models.Q(('volume_tier__lte', 4)), name='trading_volume_tier_known'), models.CheckConstraint(condition=models.Q(('volume_30d_usd__gte', 0)), name='trading_volume_not_negative')],
                    },
                ),
                migrations.CreateModel(
                    name='Fill',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('fill_id', models.CharField(max_length=64, unique=True)),
                        ('instrument', models.CharField(max_length=48)),
                        ('instrument_type', models.CharField(choices=[('spot', 'Spot'), ('perpetual', 'Perpetual'), ('options', 'Options'), ('earn', 'Earn')], max_length=16)),
                        ('asset', models.CharField(max_length=20)),
                        ('quote', models.CharField(max_length=20)),
                        ('side', models.CharField(choices=[('buy', 'Buy'), ('sell', 'Sell')], max_length=4)),
                        ('quantity', models.DecimalField(decimal_places=12, max_digits=32)),
                        ('price', models.DecimalField(decimal_places=12, max_digits=32)),
                        ('fee', models.DecimalField(decimal_places=12, default=0, max_digits=32)),
                        ('fee_currency', models.CharField(blank=True, max_length=20)),
                        ('notional_usd', models.DecimalField(blank=True, decimal_places=2, max_digits=24, null=True)),
                        ('filled_at', models.DateTimeField()),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='fills', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'fill',
                        'verbose_name_plural': 'fills',
                        'db_table': 'creators_fill',
                        'indexes': [models.Index(fields=['user', 'filled_at'], name='fill_user_time'), models.Index(fields=['user', 'asset', 'filled_at'], name='fill_user_asset_time')],
                        'constraints': [models.CheckConstraint(condition=models.Q(('quantity__gt', 0)), name='fill_quantity_positive'), models.CheckConstraint(condition=models.Q(('price__gt', 0)), name='fill_price_positive')],
                    },
                ),
                migrations.CreateModel(
                    name='Position',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('instrument', models.CharField(max_length=48)),
                        ('instrument_type', models.CharField(choices=[('spot', 'Spot'), ('perpetual', 'Perpetual'), ('options', 'Options'), ('earn', 'Earn')], max_length=16)),
                        ('asset', models.CharField(max_length=20)),
                        ('side', models.CharField(choices=[('long', 'Long'), ('short', 'Short')], max_length=5)),
                        ('quantity', models.DecimalField(decimal_places=12, max_digits=32)),
                        ('entry_price', models.DecimalField(blank=True, decimal_places=12, max_digits=32, null=True)),
                        ('mark_price', models.DecimalField(blank=True, decimal_places=12, max_digits=32, null=True)),
                        ('taken_at', models.DateTimeField()),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='positions', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'position',
                        'verbose_name_plural': 'positions',
                        'db_table': 'creators_position',
                        'constraints': [models.UniqueConstraint(fields=('user', 'instrument', 'side'), name='position_once_per_instrument'), models.CheckConstraint(condition=models.Q(('quantity__gt', 0)), name='position_quantity_positive')],
                    },
                ),
            ],
        ),
    ]
