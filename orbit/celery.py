"""The Celery application: configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orbit.settings")

app = Celery("orbit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def announce_worker(sender, **kwargs):
    # Send a first heartbeat through the broker so /healthz turns green as soon
    # as a worker consumes, not only after beat's first tick.
    sender.app.send_task("orbit.tasks.record_worker_heartbeat")
