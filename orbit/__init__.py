# Load the Celery app with Django so that shared tasks bind to it and
# `delay_on_commit` is available everywhere.
from .celery import app as celery_app

__all__ = ("celery_app",)
