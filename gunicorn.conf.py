"""gunicorn settings for `make run` and production; each value can be set from the environment."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
# A worker is replaced after max_requests (a guard against slow leaks). The jitter is wide so that
# workers started together (equal load) are not all replaced at the same moment.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 2
# The application (Django, the URL confs: saas/wsgi.py) is loaded once in the master and workers
# fork from it: replacing a worker costs a fork, not ~1 s of imports on a core that serves requests.
# A code change then needs a restart of the master, not a HUP (docs/operations.md).
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() in ("1", "true", "yes")
accesslog = None  # the app logs one JSON line per request itself
errorlog = "-"
forwarded_allow_ips = os.environ.get("SAAS_TRUSTED_PROXIES", "127.0.0.1")


def child_exit(server: object, worker: object) -> None:
    """Prometheus multiprocess mode: a finished worker's live gauges stop counting."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
