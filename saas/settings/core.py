"""Core: where settings come from, which environment this is, and Django's own basics.

Every other topic module imports `env` (and what else it needs) from here; nothing imports back.
"""

from pathlib import Path

import django_stubs_ext
import environ

# Django's generic classes (ModelAdmin[User], ModelForm[Tenant], ...) take type arguments at run time too.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# The environment wins over `.env` (next to manage.py), which wins over the defaults below.
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production", "test"}:
    raise environ.ImproperlyConfigured(
        f"DJANGO_ENV must be development, production or test, not {DJANGO_ENV!r}"
    )
IS_PRODUCTION = DJANGO_ENV == "production"

SECRET_KEY = env.str("SECRET_KEY")  # no default: a missing secret must stop the start-up
DEBUG = env.bool("DJANGO_DEBUG", default=False)

ROOT_URLCONF = "saas.urls_public"
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

# The request stack, in order; each entry says why it sits where it does.
MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first: times the whole stack
    "saas.middleware.RequestLogMiddleware",  # request id and one JSON line per request
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",  # before anything that can answer, so errors carry CORS too
    "saas.security.BodySizeLimitMiddleware",  # 413 before any body is read
    "saas.security.ApiCacheControlMiddleware",  # Cache-Control: no-store on every API answer
    "saas.middleware.ContentSecurityPolicyMiddleware",  # django-csp on pages; a fixed strict one on the API
    "whitenoise.middleware.WhiteNoiseMiddleware",  # admin and API docs assets, no CDN
    "tenants.middleware.TenantRoutingMiddleware",  # picks the schema before anything reads it
    # Sessions, the session user and messages only for browser requests (pages, admin, docs, SSO):
    # the token API reads no cookie and sets none (saas/middleware.py, is_browser_request).
    "saas.middleware.BrowserSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "saas.middleware.BrowserAuthenticationMiddleware",
    "saas.ratelimits.RateLimitMiddleware",  # after auth: pages by session user, DRF refusals, headers
    "saas.middleware.BrowserMessageMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",  # sees the response of the stack below
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.AuditContextMiddleware",  # who/where/how for every audit entry
]
