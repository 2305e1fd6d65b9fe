from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrbitConfig(AppConfig):
    name = "orbit"
    verbose_name = "Orbit"

    def ready(self):
        from . import security  # noqa: F401  (connects the security audit receivers)

        _name_untranslatable_admin_entries()


def _name_untranslatable_admin_entries():
    """Give translatable names to the two admin entries whose libraries leave none: axes' app (named
    from its label) and allauth's Authenticator (named from its class), so the Chinese admin reads
    Chinese. Migrations read _meta.original_attrs, which stays as the library declared it."""
    from allauth.mfa.models import Authenticator
    from django.apps import apps

    apps.get_app_config("axes").verbose_name = _("Sign-in lockouts")
    Authenticator._meta.verbose_name = _("authenticator")
    Authenticator._meta.verbose_name_plural = _("authenticators")
