"""Tenancy (django-tenants): one PostgreSQL schema per tenant, picked from the request's host,
header or path; which apps live in the public schema and which in every tenant's."""

from .core import env

# Tenants answer at <slug>.<SAAS_BASE_DOMAIN>.
SAAS_BASE_DOMAIN = env.str("SAAS_BASE_DOMAIN", default="localhost").lower().strip(".")
# Tenants bring their own domains, so the host check is dynamic: the routing middleware answers
# 400 to any host that is not a platform host, `*.SAAS_BASE_DOMAIN` or a registered domain.
ALLOWED_HOSTS = ["*"]
# Hosts that always mean the platform itself, never a tenant's custom domain.
PLATFORM_HOSTS = env.list(
    "PLATFORM_HOSTS", default=[SAAS_BASE_DOMAIN, "localhost", "127.0.0.1", "[::1]", "testserver"]
)
PUBLIC_SCHEMA_URLCONF = "saas.urls_public"
TENANT_URLCONF = "saas.urls_tenant"

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
    "auditlog",  # row-change auditing into audit.AuditEntry (its own LogEntry is swapped out)
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
    "accounts.sso",  # the tenant's identity providers and linked identities (tenant schemas only)
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
# Seconds a routing answer stays cached in Redis (every tenant or domain change drops it at once).
TENANT_CACHE_SECONDS = env.int("TENANT_CACHE_SECONDS", default=300)
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
# Schemas `migrate_schemas` migrates at once (tenants/migrating.py). The work is PostgreSQL's, so
# set it to the database server's cores; 0: this machine's cores when PostgreSQL runs here, else 4.
TENANT_MIGRATION_PROCESSES = env.int("TENANT_MIGRATION_PROCESSES", default=0)

# The demo tenant and platform admin that `make run` seeds (manage.py seed_demo).
DEMO_TENANT_SLUG = "acme"
DEMO_OWNER_EMAIL = "owner@acme.test"
DEMO_OWNER_PASSWORD = env.str("DEMO_OWNER_PASSWORD", default="acme-owner-pass")
DEMO_ADMIN_EMAIL = "admin@platform.test"
DEMO_ADMIN_PASSWORD = env.str("DEMO_ADMIN_PASSWORD", default="platform-admin-pass")
