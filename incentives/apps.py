from django.apps import AppConfig


class IncentivesConfig(AppConfig):
    name = "incentives"

    def ready(self):
        from . import receivers  # noqa: F401  (exports and erases an account's part)
