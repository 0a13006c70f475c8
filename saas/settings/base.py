"""The only real settings file: everything that differs between machines comes from the environment.

`DJANGO_ENV` picks development, test or production defaults; a `.env` file next to `manage.py`
is read too (see `.env.example` for every variable).
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production", "test"}:
    raise environ.ImproperlyConfigured(
        f"DJANGO_ENV must be development, production or test, not {DJANGO_ENV!r}"
    )
IS_PRODUCTION = DJANGO_ENV == "production"

# ---------------------------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------------------------
SECRET_KEY = env.str("SECRET_KEY")  # no default: a missing secret must stop the start-up
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SAAS_BASE_DOMAIN = env.str("SAAS_BASE_DOMAIN", default="localhost").lower().strip(".")
# Tenants bring their own domains, so the host check is dynamic: the routing middleware answers
# 400 to any host that is not a platform host, `*.SAAS_BASE_DOMAIN` or a registered domain.
ALLOWED_HOSTS = ["*"]
# Hosts that always mean the platform itself, never a tenant's custom domain.
PLATFORM_HOSTS = env.list(
    "PLATFORM_HOSTS", default=[SAAS_BASE_DOMAIN, "localhost", "127.0.0.1", "[::1]", "testserver"]
)
# Client IPs are REMOTE_ADDR unless the request came through one of these proxies.
SAAS_TRUSTED_PROXIES = env.list("SAAS_TRUSTED_PROXIES", default=[])

ROOT_URLCONF = "saas.urls_public"
PUBLIC_SCHEMA_URLCONF = "saas.urls_public"
TENANT_URLCONF = "saas.urls_tenant"
WSGI_APPLICATION = "saas.wsgi.application"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# ---------------------------------------------------------------------------------------------
# Tenancy (django-tenants: one PostgreSQL schema per tenant)
# ---------------------------------------------------------------------------------------------
SHARED_APPS = [
    "tenants",  # Tenant and Domain rows; first so its migrate_schemas (template aware) wins
    "django_tenants",  # schema switching, migrate_schemas
    "django.contrib.contenttypes",  # both schemas: admin log and auth point at it
    "django.contrib.auth",  # password hashing and the admin's permission hooks
    "django.contrib.sessions",  # platform staff sessions (public) and tenant sessions (tenant)
    "django.contrib.admin",  # platform admin; each tenant's admin log lives in its schema
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",  # /metrics: request, latency and database metrics
    "saas",  # system checks (saas/checks.py), the platform's static files and error pages
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",  # refresh tokens of platform staff
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served locally, no CDN
    "csp",  # Content-Security-Policy header
    "corsheaders",  # CORS, closed unless CORS_ALLOWED_ORIGINS is set
    "accounts",  # the User table: platform staff in public, tenant users in each tenant
    "auditlog",  # row-change auditing (its entry model is swapped for audit.AuditEntry)
    "audit",  # the platform's own audit trail (public schema)
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",  # a tenant's browser sessions never leave its schema
    "django.contrib.admin",  # a tenant's admin log entries stay in its schema
    "rest_framework_simplejwt.token_blacklist",  # refresh tokens of the tenant's users
    "integrations",  # the tenant's integration settings and webhook events
    "accounts",  # the tenant's users and invitations
    "accounts.mail",  # the tenant's outgoing mail (outbox rows, sent by Celery)
    "accounts.apikeys",  # the tenant's API keys for machine clients (tenant schemas only)
    "auditlog",
    "audit",  # each tenant's audit trail stays in its schema
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# New tenants are copies of this schema, which `migrate_schemas` keeps current and snapshots
# (tenants/template.py); nothing routes to it.
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_LIMIT_SET_CALLS = True  # one SET search_path per schema switch, not per cursor
TENANT_SCHEMA_PREFIX = "t_"  # schema = prefix + slug: no slug can name a system schema
TENANT_CACHE_SECONDS = env.int("TENANT_CACHE_SECONDS", default=300)
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

# ---------------------------------------------------------------------------------------------
# Database and cache
# ---------------------------------------------------------------------------------------------
# Two PostgreSQL roles (docs/operations.md, "Database roles"): web, workers and beat connect with
# DATABASE_URL as the app role, which owns nothing and may not rewrite the audit trail; migrations
# (`migrate_schemas`) connect with MIGRATION_DATABASE_URL as the owner role of every table. Left
# unset, MIGRATION_DATABASE_URL is DATABASE_URL: one role for everything, as before.
_DATABASE_URL = env.str("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/saas")
DATABASES = {"default": env.db_url_config(_DATABASE_URL)}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
MIGRATION_DATABASE = {
    key: value
    for key, value in env.db_url_config(env.str("MIGRATION_DATABASE_URL", default=_DATABASE_URL)).items()
    if key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")
}
if MIGRATION_DATABASE["NAME"] != DATABASES["default"]["NAME"]:
    raise environ.ImproperlyConfigured(
        "MIGRATION_DATABASE_URL and DATABASE_URL must name the same database "
        f"({MIGRATION_DATABASE['NAME']!r} != {DATABASES['default']['NAME']!r})"
    )
# The role that privileges are granted to after every migration (tenants/roles.py).
DATABASE_APP_ROLE = DATABASES["default"]["USER"]
# django-tenants' backend wraps this one: django-prometheus' instruments queries (django_db_* series).
ORIGINAL_BACKEND = "django_prometheus.db.backends.postgresql"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "saas",
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
        },
    }
}

# ---------------------------------------------------------------------------------------------
# Middleware
# ---------------------------------------------------------------------------------------------
MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first: times the whole stack
    "saas.middleware.RequestLogMiddleware",  # request id and one JSON line per request
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",  # before anything that can answer, so errors carry CORS too
    "saas.security.BodySizeLimitMiddleware",  # 413 before any body is read
    "saas.security.ApiCacheControlMiddleware",  # Cache-Control: no-store on every API answer
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy (matters on HTML pages)
    "whitenoise.middleware.WhiteNoiseMiddleware",  # admin and API docs assets, no CDN
    "tenants.middleware.TenantRoutingMiddleware",  # picks the schema before anything reads it
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "saas.ratelimits.RateLimitMiddleware",  # after auth: pages by session user, DRF refusals, headers
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",  # sees the response of the stack below
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.AuditContextMiddleware",  # who/where/how for every audit entry
]

# ---------------------------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
# A password reset link works once, for this long after its mail was sent (Django's token generator).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_SECONDS", default=3600)
# An invitation can be accepted once, for this many days.
INVITATION_TTL_DAYS = env.int("INVITATION_TTL_DAYS", default=7)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_SECONDS", default=300)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_SECONDS", default=7 * 86400)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "TOKEN_OBTAIN_SERIALIZER": "accounts.serializers.LoginSerializer",
}

REST_FRAMEWORK = {
    # JWT first: its `WWW-Authenticate: Bearer` is the one a 401 carries.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TenantJWTAuthentication",
        "accounts.apikeys.authentication.ApiKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "saas.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "saas.schema.ApiAutoSchema",  # error responses, tags, summaries
    "EXCEPTION_HANDLER": "saas.exceptions.exception_handler",
    # After authentication: the tenant's principals spend its budget, anonymous callers their own.
    "DEFAULT_THROTTLE_CLASSES": ["saas.ratelimits.TenantRateThrottle"],
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "SaaS platform API",
    "DESCRIPTION": "Multi-tenant platform: tenants, users, audit, webhooks and SSO.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # saas/schema.py: plain views (the webhook intake) documented too, and what depends on the host
    "DEFAULT_GENERATOR_CLASS": "saas.schema.SchemaGenerator",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "saas.schema.postprocess"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",  # operation ids and tags start after it
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "accounts.models.Role",
        "TenantRoleEnum": "accounts.models.TENANT_ROLE_CHOICES",
    },
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,  # the values are the labels
}

# ---------------------------------------------------------------------------------------------
# Celery
# ---------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=1)
# Celery's Django fix-up closes every database connection before and after each task: a new
# PostgreSQL connection (and authentication) per task, most of a short task's time (issue 12). The
# workers drop connections the way Django's request cycle does instead (`close_old_connections` around
# each task, saas/celery.py: CONN_MAX_AGE and broken connections), so the fix-up's own close is only
# left to run every CELERY_DB_REUSE_MAX tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# tenant-schemas-celery looks the tenant of every task up by its schema name (one query per task)
# unless cached; the worker only needs its schema (handlers read the tenant's current row themselves).
CELERY_TASK_TENANT_CACHE_SECONDS = env.int("CELERY_TASK_TENANT_CACHE_SECONDS", default=30)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

# ---------------------------------------------------------------------------------------------
# Security
# ---------------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
if IS_PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^health"]
if SAAS_TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# ---------------------------------------------------------------------------------------------
# Logging: one JSON object per line
# ---------------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# One `audit` line per committed audit append (schema, seq, chain hash): the off-database copy of
# every chain head, for the log collector of web, worker and beat processes, whatever LOG_LEVEL.
# manage.py commands (other than runserver) default to false, so an operator's terminal and the
# progress bars of seed_demo, sync_users or create_tenant stay readable; set true to keep them.
AUDIT_LOG_LINES = env.bool("AUDIT_LOG_LINES", default=True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "saas.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "audit": {"level": "INFO" if AUDIT_LOG_LINES else "WARNING"},
    },
}

# ---------------------------------------------------------------------------------------------
# Demo data (contract section 8)
# ---------------------------------------------------------------------------------------------
DEMO_TENANT_SLUG = "acme"
DEMO_OWNER_EMAIL = "owner@acme.test"
DEMO_OWNER_PASSWORD = env.str("DEMO_OWNER_PASSWORD", default="acme-owner-pass")
DEMO_ADMIN_EMAIL = "admin@platform.test"
DEMO_ADMIN_PASSWORD = env.str("DEMO_ADMIN_PASSWORD", default="platform-admin-pass")

# ---------------------------------------------------------------------------------------------
# Rate limits, input limits, security headers and CORS (issue 3)
# ---------------------------------------------------------------------------------------------
# Requests per minute per tenant, by plan; Tenant.rate_limit_per_minute overrides it. Spent only by
# the tenant's authenticated principals (tokens, platform admins on its routes, browser sessions).
SAAS_PLAN_RATE_LIMITS = {
    "free": env.int("RATE_LIMIT_FREE", default=600),
    "pro": env.int("RATE_LIMIT_PRO", default=6000),
    "enterprise": env.int("RATE_LIMIT_ENTERPRISE", default=60000),
}
SAAS_RATE_LIMIT_WINDOW_SECONDS = 60  # the plans' "per minute" (a test shortens it to wait a window out)
# Anonymous requests on a tenant route, per (tenant, client IP): strangers spend a budget of their own.
SAAS_ANONYMOUS_RATE_PER_IP = env.str("RATE_LIMIT_ANONYMOUS_PER_IP", default="120/m")
# Webhook deliveries per (tenant, service), whatever their signature.
SAAS_WEBHOOK_RATE_PER_SERVICE = env.str("RATE_LIMIT_WEBHOOKS_PER_SERVICE", default="1200/m")
# Sign-in attempts (API, /login/, admin forms; SSO per IP only): per client IP, and per (tenant,
# email) on tenant and platform routes. Sign-in spends no other budget.
SAAS_LOGIN_RATE_PER_IP = env.str("LOGIN_RATE_PER_IP", default="30/m")
SAAS_LOGIN_RATE_PER_EMAIL = env.str("LOGIN_RATE_PER_EMAIL", default="10/m")
SAAS_RATE_LIMIT_KEY_PREFIX = "saas:rl:"
# Redis down: limits are not enforced (a warning is logged), see docs/users-and-limits.md.

# Request bodies: at most this many bytes (413 above), JSON at most this deep (400 deeper).
SAAS_MAX_BODY_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE
SAAS_MAX_JSON_DEPTH = env.int("SAAS_MAX_JSON_DEPTH", default=32)
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = ["saas.parsers.StrictJSONParser"]

CSRF_COOKIE_HTTPONLY = True  # pages embed the token; no script needs to read the cookie
CSRF_FAILURE_VIEW = "saas.exceptions.csrf_failure"  # the platform's error page, not Django's debug-like one
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # The Django admin and Swagger UI set inline style attributes; scripts stay strict.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],  # ReDoc's search worker
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False  # the API takes bearer tokens, never cookies, cross-origin
CORS_ALLOW_HEADERS = ["accept", "authorization", "content-type", "x-request-id", "x-tenant-id"]
CORS_EXPOSE_HEADERS = ["retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "x-request-id"]

# ---------------------------------------------------------------------------------------------
# Audit trail (issue 4)
# ---------------------------------------------------------------------------------------------
AUDITLOG_LOGENTRY_MODEL = "audit.AuditEntry"  # append-only, hash-chained, one table per schema
AUDITLOG_STORE_JSON_CHANGES = True  # diffs keep their JSON types (ints, bools, null)
AUDITLOG_DISABLE_ON_RAW_SAVE = True  # fixture loading is not a change anyone made
AUDITLOG_MASK_CALLABLE = "audit.masking.mask_secret"  # secrets: never even a partial value
# Key of the HMAC chain: outside the database, so rows written around the app can't be re-chained.
AUDIT_CHAIN_KEY = env.str("AUDIT_CHAIN_KEY", default=f"audit-chain:{SECRET_KEY}")
# Security events (failed sign-ins, foreign tokens, permission denials, forged webhooks, refused
# SSO answers): per schema, kind, source and minute the first AUDIT_SECURITY_BURST are written
# as they happen, the rest counted in Redis and written as one entry per source when the minute
# closes; at most AUDIT_SECURITY_SOURCES_PER_MINUTE sources per kind and minute (then "*").
AUDIT_SECURITY_BURST = env.int("AUDIT_SECURITY_BURST", default=5)
AUDIT_SECURITY_SOURCES_PER_MINUTE = env.int("AUDIT_SECURITY_SOURCES_PER_MINUTE", default=20)
AUDIT_SECURITY_KEEP_SECONDS = 7 * 24 * 3600  # counts not flushed by then (beat stopped a week) expire
AUDIT_SECURITY_KEY_PREFIX = "saas:sec:"
CELERY_BEAT_SCHEDULE["audit-security-events-flush"] = {
    "task": "audit.tasks.flush_security_events",
    "schedule": 60.0,
}

# ---------------------------------------------------------------------------------------------
# Single sign-on (issue 7)
# Each tenant configures its own IdPs (accounts/sso); nothing below names an IdP. The OIDC and
# SAML libraries read the current tenant's provider, never global OIDC_*/SAML_CONFIG values.
# ---------------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # email + password (API and sign-in page)
    "accounts.sso.oidc.TenantOIDCBackend",  # only from /sso/oidc/callback/
    "accounts.sso.saml.TenantSaml2Backend",  # only from /sso/saml/finish/
]
LOGIN_REDIRECT_URL = "/"
SSO_HTTP_TIMEOUT = env.float("SSO_HTTP_TIMEOUT", default=5.0)  # every call to an IdP
SSO_DISCOVERY_CACHE_SECONDS = env.int("SSO_DISCOVERY_CACHE_SECONDS", default=300)
SSO_CLOCK_SKEW_SECONDS = env.int("SSO_CLOCK_SKEW_SECONDS", default=60)
SSO_STATE_TTL_SECONDS = 600  # an SSO sign-in must finish within 10 minutes
SSO_HANDOFF_TTL_SECONDS = 120  # SAML: from the ACS POST to the browser's follow-up GET
SAML_CONFIG_LOADER = "accounts.sso.saml.saml_config_loader"
SAML_DEFAULT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
SAML_XMLSEC_BINARY = env.str("SAML_XMLSEC_BINARY", default="")  # default: xmlsec1 on PATH
SAML_CSP_HANDLER = ""  # no django-csp; responses carry no inline script

# ---------------------------------------------------------------------------------------------
# Webhooks and integrations (issue 5)
# ---------------------------------------------------------------------------------------------
# API keys of integrations are encrypted with a key derived from this (SECRET_KEY by default).
INTEGRATIONS_ENCRYPTION_KEY = env.str("INTEGRATIONS_ENCRYPTION_KEY", default=SECRET_KEY)
# Rotation: the old key moves here; stored API keys open with any, new ones are sealed with the first.
INTEGRATIONS_ENCRYPTION_KEY_FALLBACKS = env.list("INTEGRATIONS_ENCRYPTION_KEY_FALLBACKS", default=[])
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)
WEBHOOK_MAX_BATCH = env.int("WEBHOOK_MAX_BATCH", default=1000)
WEBHOOK_MAX_JSON_DEPTH = env.int("WEBHOOK_MAX_JSON_DEPTH", default=32)
WEBHOOK_PREVIOUS_SECRET_HOURS = env.int("WEBHOOK_PREVIOUS_SECRET_HOURS", default=24)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_BACKOFF_BASE_SECONDS = env.float("WEBHOOK_BACKOFF_BASE_SECONDS", default=5.0)
WEBHOOK_BACKOFF_CAP_SECONDS = env.float("WEBHOOK_BACKOFF_CAP_SECONDS", default=900.0)
# Events claimed and processed together (one transaction); a task processes chunks until none is left.
WEBHOOK_CHUNK_SIZE = env.int("WEBHOOK_CHUNK_SIZE", default=100)
WEBHOOK_MAX_CHUNKS_PER_TASK = env.int("WEBHOOK_MAX_CHUNKS_PER_TASK", default=50)
# A large batch starts up to this many tasks at once, so several worker processes share it.
WEBHOOK_MAX_PARALLEL_TASKS = env.int("WEBHOOK_MAX_PARALLEL_TASKS", default=4)
# How long a "processing is on its way" marker lives if its task never starts (the sweep is the backstop).
WEBHOOK_KICK_TTL_SECONDS = env.int("WEBHOOK_KICK_TTL_SECONDS", default=10)
# A `processing` event whose worker has not finished after this long is taken up again.
WEBHOOK_PROCESSING_LEASE_SECONDS = env.float("WEBHOOK_PROCESSING_LEASE_SECONDS", default=300.0)
# The sweep leaves a `received` event this long to its own task before re-enqueueing it.
WEBHOOK_RECEIVED_GRACE_SECONDS = env.float("WEBHOOK_RECEIVED_GRACE_SECONDS", default=30.0)
WEBHOOK_SWEEP_INTERVAL_SECONDS = env.float("WEBHOOK_SWEEP_INTERVAL_SECONDS", default=15.0)
WEBHOOK_RETENTION_DAYS = env.int("WEBHOOK_RETENTION_DAYS", default=30)
WEBHOOK_RETENTION_BATCH = env.int("WEBHOOK_RETENTION_BATCH", default=5000)
# After a failed publish the web process stops trying the broker for this long (the sweep catches up).
WEBHOOK_BROKER_BACKOFF_SECONDS = env.float("WEBHOOK_BROKER_BACKOFF_SECONDS", default=5.0)
# Publishing from a web request must fail fast when Redis is down, never hang the request.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=1.0)
CELERY_BROKER_TRANSPORT_OPTIONS.update({"socket_connect_timeout": 1.0, "socket_timeout": 5.0})
CELERY_BEAT_SCHEDULE.update(
    {
        "webhooks-sweep": {
            "task": "integrations.tasks.sweep_all_tenants",
            "schedule": WEBHOOK_SWEEP_INTERVAL_SECONDS,
        },
        "webhooks-retention": {"task": "integrations.tasks.purge_all_tenants", "schedule": 3600.0},
    }
)
# Prometheus: with PROMETHEUS_MULTIPROC_DIR set (make run sets it), every gunicorn worker and Celery
# process writes its samples there and /metrics adds them up.
PROMETHEUS_EXPORT_MIGRATIONS = False
# /metrics names every tenant: with METRICS_TOKEN set it needs `Authorization: Bearer <token>`; with
# METRICS_ALLOWED_NETWORKS (CIDRs, the client IP of saas/net.py) the client must be inside one; with
# both, both apply. Production must set one (`check --deploy`: saas.E001) and refuses to serve otherwise.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = [n.strip() for n in env.list("METRICS_ALLOWED_NETWORKS", default=[]) if n.strip()]
# Adds the `test.*` event types of integrations/providers/testing.py (tests and benchmarks only).
WEBHOOK_TEST_EVENT_TYPES = env.bool("WEBHOOK_TEST_EVENT_TYPES", default=False)

# ---------------------------------------------------------------------------------------------
# External services: outgoing calls, circuit breaker, sync (issue 6)
# ---------------------------------------------------------------------------------------------
INTEGRATIONS_HTTP_CONNECT_TIMEOUT = env.float("INTEGRATIONS_HTTP_CONNECT_TIMEOUT", default=3.05)
INTEGRATIONS_HTTP_READ_TIMEOUT = env.float("INTEGRATIONS_HTTP_READ_TIMEOUT", default=10.0)
INTEGRATIONS_HTTP_MAX_ATTEMPTS = env.int("INTEGRATIONS_HTTP_MAX_ATTEMPTS", default=3)
INTEGRATIONS_HTTP_BACKOFF_BASE = env.float("INTEGRATIONS_HTTP_BACKOFF_BASE", default=0.25)
INTEGRATIONS_HTTP_BACKOFF_CAP = env.float("INTEGRATIONS_HTTP_BACKOFF_CAP", default=4.0)
# A Retry-After longer than this is not slept in the worker: the event is rescheduled instead.
INTEGRATIONS_HTTP_MAX_INLINE_WAIT = env.float("INTEGRATIONS_HTTP_MAX_INLINE_WAIT", default=10.0)
INTEGRATIONS_BREAKER_FAILURES = env.int("INTEGRATIONS_BREAKER_FAILURES", default=5)
INTEGRATIONS_BREAKER_RESET_SECONDS = env.float("INTEGRATIONS_BREAKER_RESET_SECONDS", default=30.0)
# A probe that has not reported after this long (its process died) is replaced by another.
INTEGRATIONS_BREAKER_PROBE_TTL_SECONDS = env.float("INTEGRATIONS_BREAKER_PROBE_TTL_SECONDS", default=30.0)
INTEGRATIONS_BREAKER_REDIS_TIMEOUT = env.float("INTEGRATIONS_BREAKER_REDIS_TIMEOUT", default=0.5)
SANDBOX_URL = env.str("SANDBOX_URL", default="http://127.0.0.1:8100")
# A failed reconciliation younger than this resumes at its page; an older one starts again.
INTEGRATIONS_SYNC_RESUME_SECONDS = env.int("INTEGRATIONS_SYNC_RESUME_SECONDS", default=3600)
INTEGRATIONS_SYNC_INTERVAL_SECONDS = env.float("INTEGRATIONS_SYNC_INTERVAL_SECONDS", default=3600.0)
CELERY_BEAT_SCHEDULE["users-sync"] = {
    "task": "integrations.tasks.sync_users_all_tenants",
    "schedule": INTEGRATIONS_SYNC_INTERVAL_SECONDS,
}

# ---------------------------------------------------------------------------------------------
# Email (issue 13): one outgoing path, EMAIL_URL (django-environ: smtp://, smtp+tls://, smtp+ssl://,
# consolemail://, filemail://, dummymail://). Mails are rows of the tenant's outbox (emails.Email),
# sent by a Celery task after the commit that queued them and by a sweep until sent or given up.
# ---------------------------------------------------------------------------------------------
# Production sends through the SMTP server on localhost:25 unless EMAIL_URL says otherwise; the
# development .env prints every mail to the worker's output (`make run`).
EMAIL_URL = env.str("EMAIL_URL", default="smtp://localhost:25" if IS_PRODUCTION else "consolemail://")
globals().update(
    {key: value for key, value in env.email_url_config(EMAIL_URL).items() if value not in (None, "")}
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"SaaS platform <no-reply@{SAAS_BASE_DOMAIN}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # seconds per SMTP operation, in the worker
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=16)
EMAIL_BACKOFF_BASE_SECONDS = env.float("EMAIL_BACKOFF_BASE_SECONDS", default=30.0)
EMAIL_BACKOFF_CAP_SECONDS = env.float("EMAIL_BACKOFF_CAP_SECONDS", default=3600.0)
EMAIL_SEND_LEASE_SECONDS = 300  # a send whose worker died is taken up again after this
EMAIL_SWEEP_INTERVAL_SECONDS = env.float("EMAIL_SWEEP_INTERVAL_SECONDS", default=60.0)
EMAIL_RETENTION_DAYS = env.int("EMAIL_RETENTION_DAYS", default=30)  # sent, skipped and failed rows
# Links in mails point at the tenant's primary domain with this scheme and port (no port: none in
# the URL). Development serves http on 8000 (`make run`), production https on the default port.
SAAS_PUBLIC_URL_SCHEME = env.str("SAAS_PUBLIC_URL_SCHEME", default="https" if IS_PRODUCTION else "http")
SAAS_PUBLIC_URL_PORT = env.str("SAAS_PUBLIC_URL_PORT", default="" if IS_PRODUCTION else "8000")
CELERY_BEAT_SCHEDULE.update(
    {
        "emails-sweep": {
            "task": "accounts.mail.tasks.emails_sweep_all_task",
            "schedule": EMAIL_SWEEP_INTERVAL_SECONDS,
        },
        "emails-retention": {"task": "accounts.mail.tasks.emails_purge_all_task", "schedule": 3600.0},
    }
)
