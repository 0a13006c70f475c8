"""The settings of every process: everything that differs between machines comes from the environment.

`DJANGO_ENV` picks development, test or production defaults; a `.env` file next to `manage.py` is
read too (`.env.example` lists every variable). One module per topic defines each value once
(tests/saas/test_settings.py); a module imports what it needs from the others, so the order below
does not matter.
"""

from .api import *  # noqa: F403  (DRF and the OpenAPI schema)
from .audit import *  # noqa: F403  (the audit trail)
from .auth import *  # noqa: F403  (users, passwords, JWTs, SSO)
from .cache import *  # noqa: F403  (Redis)
from .celery import *  # noqa: F403  (broker, tasks, the beat schedule of every periodic task)
from .core import *  # noqa: F403  (env, BASE_DIR, DJANGO_ENV, SECRET_KEY, middleware, templates)
from .database import *  # noqa: F403  (PostgreSQL: app and owner roles)
from .email import *  # noqa: F403  (outgoing mail)
from .integrations import *  # noqa: F403  (webhooks, outgoing calls, user sync)
from .logging import *  # noqa: F403  (logs and metrics)
from .security import *  # noqa: F403  (proxies, HTTPS, headers, CORS, input and rate limits, /metrics)
from .tenancy import *  # noqa: F403  (apps per schema, hosts, the demo tenant)
