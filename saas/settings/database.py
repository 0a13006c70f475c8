"""PostgreSQL: two roles (docs/operations.md, "Database roles").

Web, workers and beat connect with DATABASE_URL as the app role, which owns nothing and may not
rewrite the audit trail; migrations (`migrate_schemas`) connect with MIGRATION_DATABASE_URL as the
owner role of every table. Left unset, MIGRATION_DATABASE_URL is DATABASE_URL: one role for everything.
"""

import environ

from .core import env

_DATABASE_URL = env.str("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/saas")
_url_config = env.db_url_config(_DATABASE_URL)
DATABASES = {
    "default": {
        **_url_config,
        "ENGINE": "saas.db",  # django-tenants' backend, safe behind a transaction pooler (below)
        "CONN_MAX_AGE": env.int("DATABASE_CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {**_url_config.get("OPTIONS", {}), "connect_timeout": 5},
    }
}
# django-tenants' backend wraps this one: django-prometheus' instruments queries (django_db_* series).
ORIGINAL_BACKEND = "django_prometheus.db.backends.postgresql"

MIGRATION_DATABASE = {
    key: value
    for key, value in env.db_url_config(env.str("MIGRATION_DATABASE_URL", default=_DATABASE_URL)).items()
    if key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")
}
if MIGRATION_DATABASE["NAME"] != _url_config["NAME"]:
    raise environ.ImproperlyConfigured(
        "MIGRATION_DATABASE_URL and DATABASE_URL must name the same database "
        f"({MIGRATION_DATABASE['NAME']!r} != {_url_config['NAME']!r})"
    )
# The role that privileges are granted to after every migration (tenants/roles.py).
DATABASE_APP_ROLE = _url_config["USER"]

# PgBouncer in transaction pooling mode in front of PostgreSQL (docs/operations.md, "PgBouncer"):
# DATABASE_URL names PgBouncer, MIGRATION_DATABASE_URL PostgreSQL itself. DATABASE_POOLER=pgbouncer
# makes the backend (saas/db) send the tenant's search_path with every statement instead of once per
# session, and turns off what does not survive a change of server connection between transactions.
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
if DATABASE_POOLER:
    # The pooler's address: a connection switched elsewhere (the owner role's, direct) is not pooled.
    DATABASES["default"]["POOLER"] = (_url_config.get("HOST") or "", str(_url_config.get("PORT") or ""))
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
