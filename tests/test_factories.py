"""Every factory builds a valid row, and every model of our apps has a factory.

The factories are collected from the tests.factories package, so a new one is covered here
without being listed."""

import importlib
import inspect
import pkgutil

import pytest
from django.apps import apps
from django.db.models.expressions import DatabaseDefault
from factory.django import DjangoModelFactory

from tests import factories

OUR_APPS = ("creators", "markets", "feed", "ranking", "incentives")

# Models deliberately without a factory, and why.
WITHOUT_FACTORY = {
    # One row of operator settings (pk=1): `current()` creates it with the defaults, and a test that
    # needs other settings changes that row with update_or_create(pk=1, defaults=...).
    "incentives.IncentivePolicy": "singleton of operator settings; IncentivePolicy.current()",
    "incentives.ReaderValueRules": "singleton of operator settings; ReaderValueRules.current()",
    # Made only by paying a settlement (its ledger legs and idempotency key come with it); tests pay a
    # week through incentives.settlement, as tests/incentives/test_payout_transfers.py does.
    "incentives.PayoutTransfer": "created by pay_settlement with its ledger transfer; pay a week instead",
    # Written only by the daily reconciliation against the exchange's report (incentives.reconciliation).
    "incentives.TransferReconciliation": "written by the reconciliation job; run it against the fake exchange",
    # The fold's own tables (incentives.folding): written only by folding engagement rows, which is
    # how tests make them (write Engagement rows, then fold_new_engagement or compute).
    "incentives.EngagementRollup": "folded from engagement rows; write Engagement and fold",
    "incentives.EngagementRollupWeek": "folded from engagement rows; write Engagement and fold",
    "incentives.FoldedTradeClick": "folded from engagement rows; write Engagement and fold",
    "incentives.FoldWatermark": "the fold's one-row watermark; fold_new_engagement keeps it",
    "incentives.PartlyFoldedTransaction": "kept by a fold inside a writing transaction; fold to make one",
    # Made only through incentives.tips.request_tip (limits, re-authentication and the ledger with it).
    "incentives.Tip": "created by request_tip with its checks; tip through the service instead",
    # A proxy of PostTags (same table) that gives admin its tag review queue; PostTagsFactory builds its rows.
    "ranking.TagReview": "proxy of PostTags for the admin review queue; use PostTagsFactory",
}


# Rows a factory adds to its model's table, where not one.
NEW_ROWS = {
    factories.ActionWeightFactory: 0,  # every action has its row from a migration: the stored one is returned
    factories.ActionValueFactory: 0,  # likewise
    factories.LedgerEntryFactory: 2,  # a transfer: the debit and the credit leg
}


def all_factories() -> list[type[DjangoModelFactory]]:
    """Every factory defined in a module of the tests.factories package."""
    names = [info.name for info in pkgutil.iter_modules(factories.__path__)]
    modules = [importlib.import_module(f"tests.factories.{name}") for name in names]
    found = {
        factory_class
        for module in modules
        for _name, factory_class in inspect.getmembers(module, inspect.isclass)
        if issubclass(factory_class, DjangoModelFactory)
        and factory_class is not DjangoModelFactory
        and factory_class.__module__ == module.__name__
    }
    return sorted(found, key=lambda factory_class: factory_class.__name__)


def label(model) -> str:
    return f"{model._meta.app_label}.{model.__name__}"


@pytest.mark.django_db
@pytest.mark.parametrize("factory_class", all_factories(), ids=lambda factory_class: factory_class.__name__)
def test_each_factory_saves_a_row_that_passes_full_clean(factory_class):
    model = factory_class._meta.model
    before = model.objects.count()

    instance = factory_class()

    stored = model.objects.get(pk=instance.pk)
    assert model.objects.count() == before + NEW_ROWS.get(factory_class, 1)
    stored.full_clean()


@pytest.mark.django_db
def test_a_second_instance_of_each_factory_does_not_collide_with_the_first():
    for factory_class in all_factories():
        first, second = factory_class(), factory_class()
        if factory_class in (factories.ActionWeightFactory, factories.ActionValueFactory):
            assert first.pk == second.pk  # one row per action
        else:
            assert first.pk != second.pk, factory_class.__name__


# Fields a factory fills from the clock or the database rather than from its sequence, and why.
NOT_FROM_THE_SEQUENCE = {
    # A token made before its user's password was set is refused: it is made now (see its docstring).
    factories.ApiTokenFactory: {"created_at", "expires_at"},
    # A salted hash; and the model's default (now): reader value and feeds go by an account's age,
    # so tests that depend on it pass `date_joined`.
    factories.UserFactory: {"password", "date_joined"},
}


def field_values(instance, factory_class) -> dict:
    """What a built instance holds, without ids (they come from the database) and database defaults."""
    skipped = NOT_FROM_THE_SEQUENCE.get(factory_class, set())
    values = {}
    for field in instance._meta.concrete_fields:
        if field.primary_key or field.is_relation or field.generated or field.name in skipped:
            continue
        value = getattr(instance, field.attname)
        values[field.name] = "database default" if isinstance(value, DatabaseDefault) else value
    return values


@pytest.mark.django_db
@pytest.mark.parametrize("factory_class", all_factories(), ids=lambda factory_class: factory_class.__name__)
def test_each_factory_builds_the_same_values_from_the_same_sequence(factory_class):
    def build_from_start():
        for each in all_factories():
            each.reset_sequence(0, force=True)
        return field_values(factory_class.build(), factory_class)

    assert build_from_start() == build_from_start()


def test_every_model_of_our_apps_has_a_factory_or_a_reason():
    models = {label(model) for app in OUR_APPS for model in apps.get_app_config(app).get_models()}
    with_factory = {label(factory_class._meta.model) for factory_class in all_factories()}

    assert models - with_factory - set(WITHOUT_FACTORY) == set()
    assert set(WITHOUT_FACTORY) <= models, "a model listed without a factory no longer exists"
    assert not set(WITHOUT_FACTORY) & with_factory, "a model listed without a factory has one now"


def test_every_factory_is_importable_from_the_package():
    assert {factory_class.__name__ for factory_class in all_factories()} <= set(factories.__all__)
