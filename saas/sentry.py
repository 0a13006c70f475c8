"""Error tracking with Sentry (or anything that speaks its protocol): off unless SENTRY_DSN is set.

Every event carries the tenant (`tenant` tag: the slug, or the schema) and the request id
(`request_id`: the X-Request-ID of the request, or of the request that queued the task; a task
queued elsewhere has its task id). Nothing secret or personal leaves the process: no default PII
(no user, IP, cookies), no request bodies, no local variables, and `scrub()` blanks what remains
under a sensitive key (headers Authorization, Cookie, X-Signature..., passwords, tokens, secrets,
keys), `password=...` in any text, and every email address (exception messages, log lines).
"""

import re
from typing import TYPE_CHECKING, Any

from saas.request_id import current_request_id

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

FILTERED = "[Filtered]"
_SENSITIVE_KEY = re.compile(
    r"authorization|cookie|signature|password|passwd|secret|token|api[_-]?key|private[_-]?key|session"
    r"|csrf|credential|dsn|otp|email|e-mail",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_BEARER = re.compile(r"(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_ASSIGNED = re.compile(
    r"((?:password|passwd|secret|token|api[_-]?key)\w*\s*[=:]\s*)[^\s,;&'\"]+", re.IGNORECASE
)


def _scrub_text(text: str) -> str:
    text = _EMAIL.sub("[email]", _ASSIGNED.sub(r"\1" + FILTERED, text))
    return _JWT.sub(FILTERED, _BEARER.sub(r"\1 " + FILTERED, text))


def scrub(value: Any) -> Any:
    """A copy of `value` (an event, or any part of one) with secrets and email addresses blanked."""
    if isinstance(value, dict):
        return {
            key: FILTERED if isinstance(key, str) and _SENSITIVE_KEY.search(key) else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        # Headers may come as [name, value] pairs.
        if len(value) == 2 and isinstance(value[0], str) and _SENSITIVE_KEY.search(value[0]):
            return [value[0], FILTERED]
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return _scrub_text(value)
    return value


def _context_tags() -> dict[str, str]:
    from django.db import connection

    tenant = getattr(connection, "tenant", None)
    tags = {"tenant": getattr(tenant, "slug", "") or getattr(connection, "schema_name", "") or "public"}
    if request_id := current_request_id.get():
        tags["request_id"] = request_id
    return tags


def before_send(event: "Event", hint: "Hint") -> "Event":
    """Tags the event with its tenant and request id, then scrubs it (runs in the failing thread)."""
    tags = event.setdefault("tags", {})
    for key, value in _context_tags().items():
        tags.setdefault(key, value)
    scrubbed: Event = scrub(event)
    return scrubbed


def sentry_init(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> None:
    """Starts the SDK with Django, Celery and logging integrations (Celery and Django are found
    automatically) and the privacy settings above."""
    import sentry_sdk
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,  # a frame's arguments hold what no key names (a task's args)
        event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, "x-signature", "owner_password"]),
        before_send=before_send,
        before_send_transaction=before_send,
        traces_sample_rate=traces_sample_rate,
    )
