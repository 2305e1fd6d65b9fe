"""gunicorn settings of the health listener (the Procfile's `health`, orbit/health_listener.py):
/healthz on a port of its own, so a load balancer's probe never queues behind page requests.

One small process: a probe costs a few round trips to Postgres and Redis. Its access log is off
(balancers probe every few seconds); errors still go to stderr.
"""

import os

wsgi_app = "orbit.health_listener:application"
bind = os.environ.get("ORBIT_HEALTH_BIND", "127.0.0.1:8001")
workers = 1
worker_class = "gthread"
threads = 4
timeout = 30
keepalive = int(os.environ.get("WEB_KEEPALIVE", "75"))
accesslog = None
