from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedConfig(AppConfig):
    name = "feed"
    verbose_name = _("Feed")

    def ready(self):
        from . import receivers  # noqa: F401  (connects the follow, fills and account receivers)
