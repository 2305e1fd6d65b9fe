"""The KYC values now multiply the fee share and sit beside a base value: a row that still holds
the old defaults moves to the new ones, so an honest trader keeps about the value they had; a row
an operator changed is left as it is."""

from decimal import Decimal

from django.db import migrations

OLD = {"kyc_none": "0.100", "kyc_basic": "0.400", "kyc_verified": "0.600", "kyc_advanced": "0.700"}
NEW = {"kyc_none": "0.075", "kyc_basic": "0.375", "kyc_verified": "0.575", "kyc_advanced": "0.675"}


def _move(apps, source, target):
    rules = apps.get_model("incentives", "ReaderValueRules")
    rules.objects.filter(**{name: Decimal(value) for name, value in source.items()}).update(
        **{name: Decimal(value) for name, value in target.items()}
    )


def forwards(apps, schema_editor):
    _move(apps, OLD, NEW)


def backwards(apps, schema_editor):
    _move(apps, NEW, OLD)


class Migration(migrations.Migration):
    dependencies = [("incentives", "0006_reader_value_from_fills_as_of_the_week")]

    operations = [migrations.RunPython(forwards, backwards)]
