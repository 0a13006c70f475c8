"""The end-to-end benchmark's baseline task: does nothing but count itself."""

import redis
from celery import shared_task
from django.conf import settings

_redis = redis.Redis.from_url(settings.REDIS_URL)


@shared_task(acks_late=True, ignore_result=True)
def bench_noop() -> None:
    _redis.incr("bench:noop")
