"""The end-to-end benchmark's baseline: a bare Celery app (no Django, no tenant awareness, Celery's
defaults) on the same Redis broker, with one task that only counts itself.

    celery -A tests.bench.bare.celery_app worker -c 2     # what tests/bench/webhook_e2e.py starts
"""

import os

import redis
from celery import Celery

BROKER_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
COUNTER = "bench:bare:noop"

# Not the current app: the platform's shared tasks in the same bench process must keep theirs.
app = Celery("bare", broker=BROKER_URL, set_as_current=False)
app.conf.update(
    task_default_queue="bench-bare",  # never the platform's queue on the same Redis database
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
)
_redis = redis.Redis.from_url(BROKER_URL)


@app.task(ignore_result=True)
def noop() -> None:
    _redis.incr(COUNTER)
