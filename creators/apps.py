from django.apps import AppConfig


class CreatorsConfig(AppConfig):
    name = "creators"

    def ready(self):
        from . import signals  # noqa: F401  (registers the receivers)
