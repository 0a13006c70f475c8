"""Redis: Django's cache (tenant routing answers, rate limits, breaker state, security counts).

Celery's broker defaults to the same server (celery.py).
"""

from .core import env

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "saas",
        # A Redis that stops answering costs a request half a second, not a hang.
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
        },
    }
}
