"""The Celery application: configuration comes from Django settings (CELERY_*)."""

import os
import threading

from billiard.process import current_process
from celery import Celery, bootsteps
from celery.signals import before_task_publish, task_postrun, task_prerun, worker_process_init, worker_ready

from orbit import health

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orbit.settings")

app = Celery("orbit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def announce_worker(sender, **kwargs):
    # A first heartbeat through the broker, so that a worker's start shows in the heartbeat time at
    # once, not only after beat's first tick (liveness itself comes from QueueLiveness).
    sender.app.send_task("orbit.tasks.record_worker_heartbeat")


@worker_process_init.connect
def leave_the_worker_s_process_group(**kwargs):
    """A prefork pool process runs in a process group of its own. Process managers such as honcho stop
    a program by signalling its whole group: a pool process would take that SIGTERM in the middle of
    a task (WorkerLostError), where the main process's warm shutdown lets the task finish first. It
    still dies with the main process, whose death Celery makes it a SIGKILL (PR_SET_PDEATHSIG).
    The solo pool sends this signal in the main process itself, which must stay where it is."""
    if current_process().name != "MainProcess":
        os.setpgid(0, 0)


class QueueLiveness(bootsteps.StartStopStep):
    """Reports, from a thread of its own, which queues this worker consumes (orbit.health): a
    worker busy with a long task still counts as a consumer, and one that stops is gone at once."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self._stopped = threading.Event()
        self._thread = None

    def start(self, consumer):
        self._stopped.clear()
        self._thread = threading.Thread(
            target=health.report_consumers_until,
            args=(self._stopped,),
            kwargs={"consumer": consumer},
            name="orbit-queue-liveness",
            daemon=True,
        )
        self._thread.start()

    def stop(self, consumer):
        if self._thread is not None:
            self._stopped.set()
            self._thread.join(timeout=5)
            self._thread = None

    shutdown = terminate = stop


app.steps["consumer"].add(QueueLiveness)


@before_task_publish.connect
def stamp_sent_at(headers=None, **kwargs):
    if headers is not None:
        health.stamp_sent_at(headers)


@task_prerun.connect
def record_task_started(task_id=None, task=None, **kwargs):
    health.record_task_started(task_name=task.name, task_id=task_id)


@task_postrun.connect
def record_task_finished(task_id=None, task=None, state=None, retval=None, **kwargs):
    error = retval if isinstance(retval, BaseException) else None
    health.record_task_finished(task_name=task.name, task_id=task_id, outcome=state or "", error=error)
