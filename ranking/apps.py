from django.apps import AppConfig


class RankingConfig(AppConfig):
    name = "ranking"

    def ready(self):
        from . import receivers  # noqa: F401  (tags posts on publish and edit)
