from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    """The numbers each side needs, read-only: the creator center and the operators' dashboard.
    It reads every other app (it is the top layer, beside demo) and owns no tables."""

    name = "insights"
    verbose_name = _("Insights")
