"""The platform as deployed, for the HTTP benches against the bare project: the real settings,
middleware and URLs. Only Redis moves to the bench's own database (benches may flush it), and
static files are served unhashed (the bench database has no collectstatic manifest to rely on).
"""

import os

if os.environ.get("BENCH_REDIS_URL"):
    os.environ["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]

from saas.settings.base import *  # noqa: F403

LOGGING["root"]["level"] = "WARNING"  # noqa: F405
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
