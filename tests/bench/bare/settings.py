"""The bare Django project of the HTTP benchmarks: no installed apps, no middleware, DEBUG off.

Same database (the bench database, plain psycopg backend), same Redis, same CONN_MAX_AGE as the
platform, so the only difference the benches measure is the platform's code. No health checks
(Django's default): Django's own costs a `SELECT 1` round trip per request, the platform's none
(saas/db/base.py), and a baseline must not pay what the platform does not.

    DJANGO_SETTINGS_MODULE=tests.bench.bare.settings gunicorn tests.bench.bare.wsgi
"""

import os

import environ

env = environ.Env()

SECRET_KEY = os.environ.get("SECRET_KEY", "bare-bench-secret-key-" + "x" * 40)
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "tests.bench.bare.urls"
WSGI_APPLICATION = "tests.bench.bare.wsgi.application"
USE_TZ = True
TIME_ZONE = "UTC"

DATABASES = {"default": env.db_url_config(os.environ["DATABASE_URL"])}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
REDIS_URL = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

# The floors' secrets, the bench tenant's (handed over by the bench that starts this server).
BENCH_JWT_KEY = os.environ.get("BENCH_JWT_KEY", "")
BENCH_WEBHOOK_SECRET = os.environ.get("BENCH_WEBHOOK_SECRET", "")
# The tables the views use, made and dropped by the benches (tests/bench/baseline.py).
BARE_SCHEMA = "bench_bare"
LOGGING_CONFIG = None
