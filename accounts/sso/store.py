"""Short-lived SSO state in Redis, shared by every web process.

- outstanding SAML requests: request ID -> where to go next (answered once, then gone);
- handoffs: a verified SAML assertion waiting for the browser's same-site follow-up request;
- seen assertions: the replay cache, one key per (issuer, assertion ID) until it expires.

Every read-and-delete is atomic (GETDEL), so two processes never both accept the same item.
"""

import hashlib
import json
import secrets
from typing import Any

from django_redis import get_redis_connection

from saas.typing import connection

PREFIX = "saas:sso:"


def _redis() -> Any:
    return get_redis_connection("default")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def outstanding_put(*, request_id: str, next_path: str, ttl: int) -> None:
    key = PREFIX + "saml:rq:" + _digest(connection.schema_name, request_id)
    _redis().set(key, json.dumps({"next": next_path}), ex=ttl)


def outstanding_pop(*, request_id: str) -> dict[str, Any] | None:
    """The outstanding request of *this tenant* with that ID, removed; None when unknown or used."""
    raw = _redis().getdel(PREFIX + "saml:rq:" + _digest(connection.schema_name, request_id))
    return json.loads(raw) if raw else None


def handoff_put(data: dict[str, Any], *, ttl: int) -> str:
    token = secrets.token_urlsafe(32)
    payload = {**data, "schema": connection.schema_name}
    _redis().set(PREFIX + "saml:handoff:" + _digest(token), json.dumps(payload), ex=ttl)
    return token


def handoff_pop(token: str) -> dict[str, Any] | None:
    if not token or len(token) > 100:
        return None
    raw = _redis().getdel(PREFIX + "saml:handoff:" + _digest(token))
    return json.loads(raw) if raw else None


def assertion_first_use(*, issuer: str, assertion_id: str, ttl: int) -> bool:
    """True the first time an (issuer, assertion ID) is seen; False for every replay."""
    key = PREFIX + "saml:seen:" + _digest(issuer, assertion_id)
    return bool(_redis().set(key, "1", nx=True, ex=max(ttl, 60)))
