"""Email: one outgoing path, EMAIL_URL (django-environ: smtp://, smtp+tls://, smtp+ssl://,
consolemail://, filemail://, dummymail://).

Mails are rows of the tenant's outbox (accounts.mail), sent by a Celery task after the commit that
queued them and by a sweep (celery.py) until sent or given up.
"""

from .core import IS_PRODUCTION, env
from .tenancy import SAAS_BASE_DOMAIN

# Production sends through the SMTP server on localhost:25 unless EMAIL_URL says otherwise; the
# development .env prints every mail to the worker's output (`make run`).
EMAIL_URL = env.str("EMAIL_URL", default="smtp://localhost:25" if IS_PRODUCTION else "consolemail://")
# EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, ... as EMAIL_URL names them; unnamed ones keep Django's defaults.
globals().update(
    {key: value for key, value in env.email_url_config(EMAIL_URL).items() if value not in (None, "")}
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"SaaS platform <no-reply@{SAAS_BASE_DOMAIN}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # seconds per SMTP operation, in the worker
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=16)
# Full jitter: a retry waits uniform(0, min(cap, base * 2^(attempt-1))) seconds.
EMAIL_BACKOFF_BASE_SECONDS = env.float("EMAIL_BACKOFF_BASE_SECONDS", default=30.0)
EMAIL_BACKOFF_CAP_SECONDS = env.float("EMAIL_BACKOFF_CAP_SECONDS", default=3600.0)
EMAIL_SEND_LEASE_SECONDS = 300  # a send whose worker died is taken up again after this
EMAIL_RETENTION_DAYS = env.int("EMAIL_RETENTION_DAYS", default=30)  # sent, skipped and failed rows
# Links in mails point at the tenant's primary domain with this scheme and port (no port: none in
# the URL). Development serves http on 8000 (`make run`), production https on the default port.
SAAS_PUBLIC_URL_SCHEME = env.str("SAAS_PUBLIC_URL_SCHEME", default="https" if IS_PRODUCTION else "http")
SAAS_PUBLIC_URL_PORT = env.str("SAAS_PUBLIC_URL_PORT", default="" if IS_PRODUCTION else "8000")
