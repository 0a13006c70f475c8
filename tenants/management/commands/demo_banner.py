"""Prints where the platform answers and the demo credentials, as `make run` starts."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Prints the URLs and demo credentials."

    def handle(self, *args: Any, **options: Any) -> None:
        base = settings.SAAS_BASE_DOMAIN
        slug = settings.DEMO_TENANT_SLUG
        if settings.METRICS_TOKEN:  # the value stays in .env: the banner names only how to use it
            scrape = (
                'curl -H "Authorization: Bearer $METRICS_TOKEN" http://localhost:8000/metrics  (see .env)'
            )
        else:
            scrape = "curl http://localhost:8000/metrics   (open: METRICS_TOKEN is not set)"
        backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2]  # smtp, console, filebased, locmem, dummy
        if backend == "console":
            mail = "printed below by the worker, links included (EMAIL_URL=consolemail://)"
        elif backend == "smtp":
            mail = f"sent through {settings.EMAIL_HOST}:{settings.EMAIL_PORT} (EMAIL_URL)"
        else:
            mail = f"{backend} backend (EMAIL_URL)"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "  Platform      http://localhost:8000/          (API docs: /docs, /redoc)",
                    "  Platform admin http://localhost:8000/admin/",
                    f"    {settings.DEMO_ADMIN_EMAIL} / {settings.DEMO_ADMIN_PASSWORD}",
                    f"  Tenant {slug}   http://{slug}.{base}:8000/        (admin: /admin/, sign-in: /login/)",
                    f"    {settings.DEMO_OWNER_EMAIL} / {settings.DEMO_OWNER_PASSWORD}",
                    "  Health        http://localhost:8000/health  /health/ready",
                    f"  Metrics       {scrape}",
                    f"  Mail          {mail}",
                    "",
                ]
            )
        )
