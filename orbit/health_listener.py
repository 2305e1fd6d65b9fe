"""/healthz on a port of its own: the health listener.

A load balancer probes each node every few seconds with a short timeout. On the web port the probe
waits in line behind the page requests like any request, so a node that is busy, not broken, fails
its probe: the balancer pulls it, its load moves onto the others, and they fail in turn. The
Procfile's `health` process is a small gunicorn of its own (gunicorn_health.conf.py) on
ORBIT_HEALTH_BIND, serving this application: /healthz through the same Django view (database,
Redis, workers, pipelines), plus `web`, whether the web server accepts connections at all
(orbit.health.check_web), and nothing else (404). Point the balancer's health check here.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orbit.settings")

_django = get_wsgi_application()

from orbit.health import LISTENER_ENVIRON_KEY  # noqa: E402 - once Django is set up


def application(environ, start_response):
    if environ.get("PATH_INFO") != "/healthz":
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"This port answers /healthz only.\n"]
    environ[LISTENER_ENVIRON_KEY] = True
    return _django(environ, start_response)
