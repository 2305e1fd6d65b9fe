from django.apps import AppConfig


class OrbitConfig(AppConfig):
    name = "orbit"
    verbose_name = "Orbit"

    def ready(self):
        from . import security  # noqa: F401  (connects the security audit receivers)
