"""Security: client IPs behind proxies, HTTPS in production, cookies and headers, input limits,
rate limits and CORS."""

from .core import IS_PRODUCTION, env

# Client IPs are REMOTE_ADDR unless the request came through one of these proxies (addresses or
# CIDRs); then X-Forwarded-For is trusted, and so is X-Forwarded-Proto for HTTPS.
SAAS_TRUSTED_PROXIES = env.list("SAAS_TRUSTED_PROXIES", default=[])
if SAAS_TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # pages embed the token; no script needs to read the cookie
CSRF_FAILURE_VIEW = "saas.exceptions.csrf_failure"  # the platform's error page, not Django's debug-like one
if IS_PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^health"]  # load balancers probe /health over plain HTTP

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

# Browser origins allowed to call the API cross-origin; none by default (CORS closed).
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False  # the API takes bearer tokens, never cookies, cross-origin
CORS_ALLOW_HEADERS = ["accept", "authorization", "content-type", "x-request-id", "x-tenant-id"]
CORS_EXPOSE_HEADERS = ["retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "x-request-id"]

# Request bodies: at most this many bytes (413 above), JSON at most this deep (400 deeper).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
SAAS_MAX_BODY_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE
SAAS_MAX_JSON_DEPTH = env.int("SAAS_MAX_JSON_DEPTH", default=32)

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

# /metrics names every tenant: with METRICS_TOKEN set it needs `Authorization: Bearer <token>`; with
# METRICS_ALLOWED_NETWORKS (CIDRs, the client IP of saas/net.py) the client must be inside one; with
# both, both apply. Production must set one (`check --deploy`: saas.E001) and refuses to serve otherwise.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = [n.strip() for n in env.list("METRICS_ALLOWED_NETWORKS", default=[]) if n.strip()]
