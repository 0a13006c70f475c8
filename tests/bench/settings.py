"""Settings for the benchmark server: the real settings plus a bare view mounted only here.

Never used in production: `saas.wsgi` only loads this module when DJANGO_SETTINGS_MODULE names it.
"""

import os

if os.environ.get("BENCH_REDIS_URL"):
    os.environ["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]

from saas.settings.base import *  # noqa: F403

ROOT_URLCONF = "tests.bench.urls_public"
PUBLIC_SCHEMA_URLCONF = "tests.bench.urls_public"
