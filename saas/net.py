"""The client's IP address: REMOTE_ADDR, unless the request came through a trusted proxy."""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest


@lru_cache(maxsize=1)
def _trusted_networks(
    proxies: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _trusted_networks(tuple(settings.SAAS_TRUSTED_PROXIES)))


def client_ip(request: HttpRequest) -> str:
    """Walks X-Forwarded-For from the right while the hop is a trusted proxy; never trusts it otherwise."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    if not settings.SAAS_TRUSTED_PROXIES or not _is_trusted(remote):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote
    return hops[0] if hops else remote
