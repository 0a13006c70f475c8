"""Test settings: required values get safe defaults, then the real settings load unchanged."""

import os
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import environ

# A developer's scrape restriction or mail settings in .env must not reach the tests (the tests that
# need one set it themselves: mail stays in memory unless a test starts its own SMTP server and hands
# its EMAIL_URL to the processes it starts); one given in the environment still counts.
_DEVELOPER_VARS = (
    "METRICS_TOKEN",
    "METRICS_ALLOWED_NETWORKS",
    "EMAIL_URL",
    "SAAS_PUBLIC_URL_PORT",
    "SENTRY_DSN",
)
_explicit_vars = {name for name in _DEVELOPER_VARS if name in os.environ}
# Read .env first so a checkout can name its own TEST_REDIS_URL / DATABASE_URL there.
environ.Env.read_env(Path(__file__).resolve().parents[2] / ".env", overwrite=False)
for _name in set(_DEVELOPER_VARS) - _explicit_vars:
    os.environ.pop(_name, None)

os.environ.setdefault("DJANGO_ENV", "test")
os.environ.setdefault("EMAIL_URL", "memorymail://")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 32)


def _test_redis(url: str) -> str:
    """Tests use their own Redis database (9), so a running `make run` keeps its keys."""
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path="/9"))


os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL") or _test_redis(
    os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
)
os.environ.pop("CELERY_BROKER_URL", None)

from .base import *  # noqa: E402,F403

# Argon2 stays the hasher, with the cheapest parameters, so tests exercise the real scheme fast.
PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
CELERY_IMPORTS = ["tests.audit.tasks", "tests.saas.tasks"]  # tasks the tests run through a real worker
