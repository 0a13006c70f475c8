"""The WSGI application, with its URL confs loaded before it serves (`warm_up`)."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.base")
application = get_wsgi_application()


def warm_up() -> None:
    """Imports and indexes both URL confs now rather than in the first request that resolves one.

    The tenant URL conf imports the SSO views and with them pysaml2, which builds its XML schema
    validators at import (~0.6 s of CPU); each new gunicorn worker (one per `max_requests`) made its
    first request wait for that. Under `preload_app` (gunicorn.conf.py) this runs once, in the master,
    and the workers fork with it done. It opens no database or Redis connection."""
    urlconfs = (settings.ROOT_URLCONF, settings.PUBLIC_SCHEMA_URLCONF, settings.TENANT_URLCONF)
    for urlconf in dict.fromkeys(urlconfs):
        get_resolver(urlconf).reverse_dict  # noqa: B018  (the property populates the resolver)


warm_up()
