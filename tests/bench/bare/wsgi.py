"""WSGI entry point of the bare project (tests/bench/bare/settings.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "tests.bench.bare.settings"
application = get_wsgi_application()
