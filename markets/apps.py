from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketsConfig(AppConfig):
    name = "markets"
    verbose_name = _("Markets")

    def ready(self):
        from . import receivers  # noqa: F401  (a person's trading data in their export and erasure)
