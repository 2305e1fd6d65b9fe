from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo community (`manage.py seed_demo`): it imports the product's apps, which never import it."""

    name = "demo"
