# The platform image: web, Celery worker, beat and the sandbox all run from it (docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# pg_dump: tenant template snapshots (tenants/template.py); xmlsec1: SAML signatures.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client xmlsec1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN SECRET_KEY=build-only DJANGO_ENV=production python manage.py collectstatic --noinput -v 0 \
    && useradd --system --uid 1000 --home /app saas \
    && chown -R saas /app
USER saas

# DATABASE_URL names the app role, which owns nothing (docs/operations.md, "Database roles").
# Only the one-off migration job gets MIGRATION_DATABASE_URL, the owner role: `migrate_schemas`
# connects with it (docker-compose.yml, service `migrate`).
ENV DJANGO_ENV=production
EXPOSE 8000
CMD ["gunicorn", "saas.wsgi", "-c", "gunicorn.conf.py"]
