"""System checks of the platform's own settings (`manage.py check`, `check --deploy`)."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from .metrics import parse_networks

MIN_METRICS_TOKEN_LENGTH = 24


@register(Tags.security)
def metrics_networks_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A malformed METRICS_ALLOWED_NETWORKS entry stops every command, not the first scrape."""
    errors: list[CheckMessage] = []
    for network in settings.METRICS_ALLOWED_NETWORKS:
        try:
            parse_networks((network,))
        except ValueError:
            errors.append(
                Error(
                    f"METRICS_ALLOWED_NETWORKS has {network!r}, which is not an address or CIDR.",
                    hint="Comma-separated CIDRs, e.g. 10.0.0.0/8,fd00::/8.",
                    id="saas.E002",
                )
            )
    return errors


@register(Tags.security, deploy=True)
def metrics_protected_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """/metrics names every tenant: a deployment must restrict it by token or network."""
    token: str = settings.METRICS_TOKEN
    if not token and not settings.METRICS_ALLOWED_NETWORKS:
        return [
            Error(
                "/metrics is not protected: neither METRICS_TOKEN nor METRICS_ALLOWED_NETWORKS is set.",
                hint="Set METRICS_TOKEN (the scraper sends `Authorization: Bearer <token>`) and/or "
                "METRICS_ALLOWED_NETWORKS (the scraper's CIDRs). Production refuses to serve /metrics "
                "until one is set.",
                id="saas.E001",
            )
        ]
    if token and len(token) < MIN_METRICS_TOKEN_LENGTH:
        return [
            Warning(
                f"METRICS_TOKEN is shorter than {MIN_METRICS_TOKEN_LENGTH} characters.",
                hint="python -c 'import secrets; print(secrets.token_urlsafe(32))'",
                id="saas.W003",
            )
        ]
    return []
