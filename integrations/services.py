"""Writes for integrations: settings and secrets, webhook intake, processing, sweep, replay, retention.

The event row is the source of truth, never the broker: intake commits the events and only then
enqueues their processing; a lost or refused message delays an event until the sweep finds it due.
"""

import contextlib
import functools
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_redis import get_redis_connection

from audit.events import AuditEvent
from audit.services import acting_as, audit_record, entries_batched, object_type_of
from saas.crypto import secret_encrypt
from saas.db import prepared
from saas.db.prepared import Statement
from saas.errors import ApplicationError
from saas.typing import connection
from saas.validators import json_problem
from tenants.due import due_mark, due_mark_sql

from . import metrics
from .errors import CircuitOpenError, PermanentError, RetryableError
from .handlers import FetchThenApply, Handler
from .http import retry_delay
from .models import ACTIVE_STATUSES, API_KEY_PURPOSE, EventStatus, Service, WebhookEvent
from .models import IntegrationSettings as IntegrationSettings
from .providers import PROVIDERS
from .providers.communication_service import messages_due
from .selectors import integration_settings_get
from .signing import generate_secret

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Settings and secrets
# ---------------------------------------------------------------------------------------------


def integration_settings_ensure(*, service: str) -> IntegrationSettings:
    """The tenant's settings for `service`, created with a fresh signing secret when first needed."""
    endpoint = integration_settings_get(service=service)
    if endpoint is not None:
        return endpoint
    try:
        with transaction.atomic():
            return IntegrationSettings.objects.create(service=service, signing_secret=generate_secret())
    except IntegrityError:  # created by a concurrent request
        return IntegrationSettings.objects.get(service=service)


# Services whose events decide what no tenant user may decide through the API (the payment service
# moves the tenant's plan): their settings and signing secret are the platform's, never a tenant's.
PLATFORM_MANAGED = (Service.PAYMENT,)


def integration_settings_may_manage(*, actor: Any, service: str) -> bool:
    """Whether `actor` may change `service`'s settings or secret (None: the platform's own code)."""
    if actor is None or service not in PLATFORM_MANAGED:
        return True
    return bool(getattr(actor, "is_platform_admin", False))


def _check_may_manage(*, actor: Any, service: str) -> None:
    if not integration_settings_may_manage(actor=actor, service=service):
        raise ApplicationError(
            f"The {service} integration sets the tenant's plan, so only platform admins may change its "
            "settings or signing secret.",
            code="permission_denied",
            status_code=403,
        )


def integration_settings_update(
    *, service: str, enabled: bool, base_url: str, api_key: str | None = None, actor: Any = None
) -> IntegrationSettings:
    """Saves the settings; `api_key` None keeps the stored key, "" clears it. The key is stored encrypted.

    `actor` (the user asking; None for the platform's own code) must be a platform admin for the
    services in PLATFORM_MANAGED, else ApplicationError `permission_denied`."""
    _check_may_manage(actor=actor, service=service)
    endpoint = integration_settings_ensure(service=service)
    endpoint.enabled = enabled
    endpoint.base_url = base_url
    if api_key is not None:
        endpoint.api_key_encrypted = secret_encrypt(api_key, purpose=API_KEY_PURPOSE)
    endpoint.save()
    return endpoint


def secret_rotate(*, service: str, actor: Any = None) -> str:
    """Makes a new signing secret; the old one keeps verifying for WEBHOOK_PREVIOUS_SECRET_HOURS. Audited.

    Same rule as `integration_settings_update` for `actor`: whoever holds a secret can sign that
    service's events."""
    _check_may_manage(actor=actor, service=service)
    with transaction.atomic():
        integration_settings_ensure(service=service)
        endpoint = IntegrationSettings.objects.select_for_update().get(service=service)
        endpoint.previous_signing_secret = endpoint.signing_secret
        endpoint.previous_secret_expires_at = timezone.now() + timedelta(
            hours=settings.WEBHOOK_PREVIOUS_SECRET_HOURS
        )
        endpoint.signing_secret = generate_secret()
        endpoint.save()
        audit_record(event=AuditEvent.SECRET_ROTATE, target=(object_type_of(IntegrationSettings), service))
    return endpoint.signing_secret


# ---------------------------------------------------------------------------------------------
# Intake
# ---------------------------------------------------------------------------------------------


class InvalidPayload(Exception):
    def __init__(self, message: str, details: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


@dataclass(frozen=True)
class IncomingEvent:
    event_id: str
    type: str
    occurred_at: datetime


@dataclass(frozen=True)
class IncomingBody:
    """A checked body: its events, and its raw JSON, which PostgreSQL unpacks itself on insert."""

    events: list[IncomingEvent]
    raw: str
    is_batch: bool


# RFC 3339, the ISO 8601 profile PostgreSQL and Python read alike (a time zone is required).
_TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: Python reads them, PostgreSQL does not


# One decoder for every body (json.loads builds one per call when given an option).
_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def _document_problem(text: str, document: Any) -> str | None:
    """`json_problem` of the parsed body, without walking it when its text already rules both out:
    a document cannot nest deeper than the number of `{` and `[` in its text, and a NUL can only
    come from a `\\u0000` escape (a raw control character is not JSON)."""
    max_depth = settings.WEBHOOK_MAX_JSON_DEPTH
    if "\\u0000" not in text and text.count("{") + text.count("[") <= max_depth:
        return None
    return json_problem(document, max_depth=max_depth)


def _parse_event(item: Any, where: str) -> IncomingEvent:
    errors: dict[str, list[str]] = {}
    if not isinstance(item, dict):
        raise InvalidPayload(f"{where} must be an object.", {where: ["Must be an object."]})
    event_id, event_type, occurred, data = (
        item.get("id"),
        item.get("type"),
        item.get("occurred_at"),
        item.get("data"),
    )
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        errors[f"{where}.id"] = ["A non-empty string of at most 255 characters is required."]
    if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
        errors[f"{where}.type"] = ["A non-empty string of at most 100 characters is required."]
    occurred_at = None
    if isinstance(occurred, str) and _TIMESTAMP_RE.match(occurred):
        try:
            occurred_at = datetime.fromisoformat(occurred.upper())
        except ValueError:
            occurred_at = None
    if occurred_at is None:
        errors[f"{where}.occurred_at"] = ["An ISO 8601 (RFC 3339) timestamp with a time zone is required."]
    if not isinstance(data, dict):
        errors[f"{where}.data"] = ["An object is required."]
    if errors:
        raise InvalidPayload(f"{where} is not a valid event.", errors)
    assert occurred_at is not None  # noqa: S101  (narrowed above)
    return IncomingEvent(str(event_id), str(event_type), occurred_at)


def webhook_parse(*, body: bytes) -> IncomingBody:
    """One event or `{"events": [...]}` (1..WEBHOOK_MAX_BATCH); any bad item fails the whole body."""
    try:
        text = body.decode("utf-8")
        document = _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise InvalidPayload("The body is not valid JSON.") from exc
    problem = _document_problem(text, document)
    if problem:
        raise InvalidPayload(problem)
    if isinstance(document, dict) and "events" in document:
        items = document["events"]
        if not isinstance(items, list) or not items:
            raise InvalidPayload("`events` must be a non-empty list.", {"events": ["A non-empty list."]})
        if len(items) > settings.WEBHOOK_MAX_BATCH:
            raise InvalidPayload(
                f"A batch holds at most {settings.WEBHOOK_MAX_BATCH} events.",
                {"events": [f"At most {settings.WEBHOOK_MAX_BATCH} events."]},
            )
        events = [_parse_event(item, f"events[{i}]") for i, item in enumerate(items)]
        return IncomingBody(events, text, is_batch=True)
    return IncomingBody([_parse_event(document, "event")], text, is_batch=False)


# The checked body goes to PostgreSQL as one JSON parameter: no per-event re-serialisation. The
# same statement marks the tenant due in public (tenants.due) when it stored an event: one round trip.
_INSERT_SQL = """
WITH stored AS (
INSERT INTO {table} (service, event_id, type, occurred_at, payload, status, attempts,
                     next_attempt_at, last_error, stale, received_at)
SELECT %s, e->>'id', e->>'type', (e->>'occurred_at')::timestamptz, e, 'received', 0, %s, '', false, %s
FROM jsonb_array_elements({source}) AS e
ON CONFLICT (service, event_id) DO NOTHING
RETURNING id
), marked AS ({mark})
SELECT id FROM stored
"""


@functools.lru_cache(maxsize=8)
def _insert_statement(is_batch: bool, mark: str) -> Statement:
    """The intake statement (the same for every request; the schema is the search path's), prepared
    once per database session: planning it as text cost the server twice its execution."""
    sql = _INSERT_SQL.format(
        table=connection.ops.quote_name(WebhookEvent._meta.db_table),
        source="(%s::jsonb)->'events'" if is_batch else "jsonb_build_array(%s::jsonb)",
        mark=mark,
    )
    return Statement(sql, label="webhook_intake")


def webhook_receive(*, service: str, body: IncomingBody) -> tuple[int, int]:
    """Stores the events in one multi-row insert (known ids are duplicates) and, once committed,
    kicks their processing. Returns (accepted, duplicates)."""
    now = timezone.now()
    due = now + timedelta(seconds=settings.WEBHOOK_RECEIVED_GRACE_SECONDS)
    # Lock-free: concurrent deliveries to one tenant do not queue on its marker row (tenants.due).
    mark, mark_params = due_mark_sql(at=due, when="EXISTS (SELECT 1 FROM stored)", lock_free=True)
    statement = _insert_statement(body.is_batch, mark)
    # One statement is atomic on its own: outside a transaction it commits as it returns (and
    # on_commit then runs at once); inside one, the kick waits for that transaction's commit.
    # Inside a caller's transaction a savepoint keeps a refused insert from breaking that transaction.
    savepoint = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    try:
        with savepoint, connection.cursor() as cursor:
            prepared.execute(cursor, statement, [service, due, now, body.raw, *mark_params])
            new_ids = [row[0] for row in cursor.fetchall()]
    except DataError as exc:  # something PostgreSQL's jsonb refuses (e.g. a lone surrogate)
        raise InvalidPayload("The body holds values that cannot be stored.") from exc
    if new_ids:
        count = len(new_ids)
        transaction.on_commit(lambda: events_kick(count=count))
    accepted = len(new_ids)
    return accepted, len(body.events) - accepted


# ---------------------------------------------------------------------------------------------
# Enqueueing (never fails the caller: the sweep is the safety net)
# ---------------------------------------------------------------------------------------------

_broker_down_until = 0.0


def _chunks(ids: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def events_enqueue(*, event_ids: list[int], countdown: float | None = None) -> bool:
    """Publishes processing tasks for the active schema, in chunks. Returns False when the broker
    refused; the events stay due in the database and the sweep enqueues them later."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        metrics.ENQUEUE_FAILURES.inc()
        return False
    options: dict[str, Any] = {"retry": False}
    if countdown:
        options["countdown"] = countdown
    try:
        for chunk in _chunks(sorted(event_ids), settings.WEBHOOK_CHUNK_SIZE):
            _task("process_events").apply_async(args=[chunk], **options)
    except Exception as exc:
        _broker_down_until = time.monotonic() + settings.WEBHOOK_BROKER_BACKOFF_SECONDS
        metrics.ENQUEUE_FAILURES.inc()
        logger.warning(
            "webhook enqueue failed; the sweep will pick the events up",
            extra={"error": type(exc).__name__, "events": len(event_ids), "schema": connection.schema_name},
        )
        return False
    return True


def _task(name: str) -> Any:
    """A task of `integrations.tasks`. Body import (allowed, see tests/test_import_structure.py):
    tasks import this module at their top; looking the task up by name in the Celery app instead
    left the live-worker tests unprocessed, not yet understood (see the branch report)."""
    from . import tasks

    return getattr(tasks, name)


def _kick_key() -> str:
    return f"webhooks:kick:{connection.schema_name}"


def _redis() -> Any:
    return get_redis_connection("default")


def events_kick(*, count: int = 1) -> bool:
    """Makes sure a `process_pending` task will look at this schema's `received` events.

    At most one such task waits per schema (a Redis SET NX key the task deletes when it starts, so
    an event committed after that start kicks a new one): a single-event request costs one Redis
    command, not a Celery publish, and events from many requests are processed in shared chunks.
    A large batch also starts extra tasks so that several worker processes share it. Never raises:
    when Redis is down the events wait for the sweep."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        metrics.ENQUEUE_FAILURES.inc()
        return False
    extra = min(-(-count // settings.WEBHOOK_CHUNK_SIZE) - 1, settings.WEBHOOK_MAX_PARALLEL_TASKS - 1)
    key = _kick_key()
    kicked = False
    try:
        if _redis().set(key, "1", nx=True, ex=settings.WEBHOOK_KICK_TTL_SECONDS):
            kicked = True
            _task("process_pending").apply_async(retry=False)
        for _ in range(max(extra, 0)):
            _task("process_pending").apply_async(retry=False)
    except Exception as exc:
        _broker_down_until = time.monotonic() + settings.WEBHOOK_BROKER_BACKOFF_SECONDS
        metrics.ENQUEUE_FAILURES.inc()
        logger.warning(
            "webhook kick failed; the sweep will pick the events up",
            extra={"error": type(exc).__name__, "schema": connection.schema_name},
        )
        if kicked:
            with contextlib.suppress(Exception):
                _redis().delete(key)
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Processing
# ---------------------------------------------------------------------------------------------


def _handler_for(event: WebhookEvent) -> Handler | None:
    module = PROVIDERS.get(event.service)
    return getattr(module, "HANDLERS", {}).get(event.type) if module else None


def _claimable(now: datetime) -> Q:
    tolerance = timedelta(seconds=1)  # a countdown may fire a hair before next_attempt_at
    return Q(status=EventStatus.RECEIVED) | Q(
        status__in=[EventStatus.RETRYING, EventStatus.PROCESSING], next_attempt_at__lte=now + tolerance
    )


def _claim(event_ids: list[int] | None = None, *, pending: int = 0) -> uuid.UUID | None:
    """Marks due events `processing` under a lease; SKIP LOCKED leaves events another worker holds.

    Either the due events among `event_ids`, or up to `pending` of the oldest `received` events."""
    now = timezone.now()
    token = uuid.uuid4()
    with transaction.atomic():
        if event_ids is not None:
            candidates = WebhookEvent.objects.filter(_claimable(now), id__in=event_ids)
        else:
            candidates = WebhookEvent.objects.filter(status=EventStatus.RECEIVED).order_by("next_attempt_at")[
                :pending
            ]
        ids = list(candidates.select_for_update(skip_locked=True).values_list("id", flat=True))
        if not ids:
            return None
        WebhookEvent.objects.filter(id__in=ids).update(
            status=EventStatus.PROCESSING,
            claim_token=token,
            attempts=F("attempts") + 1,
            next_attempt_at=now + timedelta(seconds=settings.WEBHOOK_PROCESSING_LEASE_SECONDS),
        )
    return token


@dataclass
class _Step:
    """One claimed event on its way through `_process_claimed`."""

    event: WebhookEvent
    apply: Callable[[], None] | None = None  # its database writes; None when nothing is to be applied
    error: Exception | None = None  # what its fetch raised (the outcome follows from it)
    seconds: float = 0.0  # time spent in its handler (fetch and apply)
    outcome: str = ""  # the `webhooks_processed_total` outcome, counted once the batch commits


def _fail(step: _Step, exc: Exception, now: datetime) -> float | None:
    """Sets the outcome of a handler's exception; returns the retry delay, if one is to be scheduled."""
    event = step.event
    if isinstance(exc, CircuitOpenError):
        event.attempts -= 1  # an open breaker is not the event's fault
        event.status, event.next_attempt_at = EventStatus.RETRYING, exc.retry_at
        event.last_error = f"CircuitOpenError: {exc}"[:2000]
        step.outcome = "deferred"
        return max((exc.retry_at - now).total_seconds(), 0.0)
    if isinstance(exc, PermanentError):
        event.status, event.next_attempt_at = EventStatus.DEAD, None
        event.last_error = f"PermanentError: {exc}"[:2000]
        step.outcome = "dead"
        return None
    retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
    event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if not isinstance(exc, RetryableError):
        logger.error(
            "webhook handler failed",
            exc_info=exc,
            extra={"event": event.pk, "type": event.type},
        )
    if event.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        event.status, event.next_attempt_at = EventStatus.DEAD, None
        step.outcome = "dead"
        return None
    delay = retry_delay(attempts=event.attempts, retry_after=retry_after)
    event.status, event.next_attempt_at = EventStatus.RETRYING, now + timedelta(seconds=delay)
    step.outcome = "failed"
    return delay


class _HandlerFailed(Exception):
    """A handler raised while its batch ran without savepoints: the batch is rolled back and run again."""

    def __init__(self, error: Exception, seconds: float) -> None:
        super().__init__(str(error))
        self.error, self.seconds, self.index = error, seconds, -1


def _settle(step: _Step, now: datetime, *, savepoint: bool) -> float | None:
    """Applies the step (in a savepoint, if asked) and sets the event's outcome.

    Without a savepoint a handler's exception cannot be undone on its own: it raises _HandlerFailed,
    which rolls the whole batch back."""
    event = step.event
    if step.error is None and step.apply is None:
        event.status, event.processed_at, event.next_attempt_at = EventStatus.IGNORED, now, None
        step.outcome = "ignored"
        return None
    error = step.error
    if error is None and step.apply is not None:
        started = time.perf_counter()
        try:
            with (
                transaction.atomic() if savepoint else contextlib.nullcontext(),
                acting_as(f"system:{event.service}"),
            ):
                step.apply()
        except Exception as exc:
            if not savepoint:
                raise _HandlerFailed(exc, time.perf_counter() - started) from exc
            error = exc
        step.seconds += time.perf_counter() - started
    if error is not None:
        return _fail(step, error, now)
    event.status, event.processed_at, event.next_attempt_at = EventStatus.PROCESSED, timezone.now(), None
    event.last_error = ""
    step.outcome = "processed"
    return None


def _prepare(event: WebhookEvent, handler: Handler | None) -> _Step:
    """The event's step; a handler with a fetch makes its outgoing reads now, outside any transaction."""
    if handler is None:
        return _Step(event)
    if not isinstance(handler, FetchThenApply):
        return _Step(event, apply=functools.partial(handler, event))
    started = time.perf_counter()
    try:
        fetched = handler.fetch(event)
    except Exception as exc:
        return _Step(event, error=exc, seconds=time.perf_counter() - started)
    seconds = time.perf_counter() - started
    return _Step(event, apply=functools.partial(handler.apply, event, fetched), seconds=seconds)


# What `_settle` changes on a step and its event: put back before a batch is run a second time.
_SETTLED_FIELDS = (
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "processed_at",
    "stale",
    "claim_token",
)


def _apply_batch(token: uuid.UUID, steps: list[_Step]) -> None:
    """Applies the steps and writes their outcomes in one short transaction.

    Optimistically first, without a savepoint per event (two statements fewer per event). If a
    handler raises, that transaction is rolled back and the batch is run again: the events before
    it as before, the failing one settled with the error it raised (not run again), the ones after
    it each in a savepoint. So a failing event keeps none of its writes and the others keep theirs;
    the cost is that the handlers before a failure run twice, the first time rolled back (handlers
    only write to the database, `integrations/handlers.py`)."""
    if not steps:
        return
    saved = [(step.seconds, {name: getattr(step.event, name) for name in _SETTLED_FIELDS}) for step in steps]
    savepoints_from = len(steps)
    while True:
        try:
            settled = _apply_steps(token, steps, savepoints_from=savepoints_from)
            break
        except _HandlerFailed as failed:
            for step, (seconds, fields) in zip(steps, saved, strict=True):
                step.seconds, step.outcome = seconds, ""
                for name, value in fields.items():
                    setattr(step.event, name, value)
            failing = steps[failed.index]
            failing.apply, failing.error = None, failed.error
            failing.seconds += failed.seconds
            saved[failed.index] = (failing.seconds, saved[failed.index][1])
            # Only steps before `savepoints_from` can raise here, and each at most once (it then
            # carries its error), so this ends after at most one extra run per failing event.
            savepoints_from = failed.index + 1
    for step in settled:  # counted once, for the transaction that committed
        metrics.PROCESSED.labels(step.event.service, step.outcome).inc()
        if step.outcome != "ignored":
            metrics.PROCESSING_SECONDS.labels(step.event.service).observe(step.seconds)


def _apply_steps(token: uuid.UUID, steps: list[_Step], *, savepoints_from: int) -> list[_Step]:
    """One transaction: the steps still held by `token`, their outcomes in one UPDATE, and their
    audit entries chained in one statement at the end; retries are scheduled after the commit.

    Only events still held by `token` are applied: one whose lease ran out meanwhile was taken back by
    the sweep, and is applied by whoever holds it now."""
    retries: dict[float, list[int]] = {}
    # The batch's audit entries are chained together as it ends: the tenant's chain head is locked
    # for the last statement and the commit only, not from the first event on.
    with transaction.atomic(), entries_batched():
        held = set(
            WebhookEvent.objects.select_for_update()
            .filter(id__in=[s.event.pk for s in steps], claim_token=token, status=EventStatus.PROCESSING)
            .values_list("id", flat=True)
        )
        now = timezone.now()
        settled = []
        for index, step in enumerate(steps):
            if step.event.pk not in held:
                continue
            try:
                delay = _settle(step, now, savepoint=index >= savepoints_from)
            except _HandlerFailed as failed:
                failed.index = index
                raise
            if delay is not None:
                retries.setdefault(round(delay, 1), []).append(step.event.pk)
            step.event.claim_token = None
            settled.append(step)
        retry_times = [
            s.event.next_attempt_at
            for s in settled
            if s.event.status == EventStatus.RETRYING and s.event.next_attempt_at is not None
        ]
        if retry_times:  # the earliest retry, in the transaction that schedules it
            due_mark(at=min(retry_times))
        _save_outcomes([step.event for step in settled])
        for delay, ids in retries.items():
            if delay <= settings.WEBHOOK_BACKOFF_CAP_SECONDS:
                transaction.on_commit(functools.partial(events_enqueue, event_ids=ids, countdown=delay))
    return settled


class _Lease:
    """Keeps a claim's lease ahead of the sweep while its events wait for their services."""

    def __init__(self, token: uuid.UUID) -> None:
        self.token = token
        self.renewed = time.monotonic()

    def keep(self) -> None:
        seconds = settings.WEBHOOK_PROCESSING_LEASE_SECONDS
        if time.monotonic() - self.renewed < seconds / 4:
            return
        WebhookEvent.objects.filter(claim_token=self.token, status=EventStatus.PROCESSING).update(
            next_attempt_at=timezone.now() + timedelta(seconds=seconds)
        )
        self.renewed = time.monotonic()


def events_process(*, event_ids: list[int]) -> None:
    """Claims the due events among `event_ids` and runs their handlers as `system:<service>`.

    Each event's writes and its outcome commit together, so an event is applied exactly once even
    when a worker dies mid-way (its claim then expires and the sweep takes the event up again). No
    transaction is open during an outgoing call. Failures move to `retrying` with back-off, to
    `dead` after WEBHOOK_MAX_ATTEMPTS; unknown types are `ignored`.
    """
    token = _claim(event_ids)
    if token is not None:
        _process_claimed(token)


def events_process_pending(*, max_chunks: int | None = None) -> int:
    """Processes the schema's `received` events chunk by chunk until none is left (the kicked task).

    After `max_chunks` it hands over to a fresh task, so other tenants' tasks get their turn."""
    max_chunks = max_chunks or settings.WEBHOOK_MAX_CHUNKS_PER_TASK
    with contextlib.suppress(Exception):  # Redis down: the sweep still finds everything
        _redis().delete(_kick_key())
    chunks = 0
    while chunks < max_chunks:
        token = _claim(pending=settings.WEBHOOK_CHUNK_SIZE)
        if token is None:
            return chunks
        _process_claimed(token)
        chunks += 1
    events_kick()
    return chunks


_OUTCOME_SQL = """
UPDATE {table} AS w
   SET status = v.status, attempts = v.attempts, next_attempt_at = v.next_attempt_at,
       last_error = v.last_error, processed_at = v.processed_at, stale = v.stale, claim_token = NULL
  FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::timestamptz[], %s::text[], %s::timestamptz[],
              %s::bool[]) AS v(id, status, attempts, next_attempt_at, last_error, processed_at, stale)
 WHERE w.id = v.id
"""


def _save_outcomes(events: list[WebhookEvent]) -> None:
    """One UPDATE for a whole chunk's outcomes (Django's bulk_update builds a CASE per row and field)."""
    if not events:
        return
    sql = _OUTCOME_SQL.format(table=connection.ops.quote_name(WebhookEvent._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                [e.pk for e in events],
                [e.status for e in events],
                [e.attempts for e in events],
                [e.next_attempt_at for e in events],
                [e.last_error for e in events],
                [e.processed_at for e in events],
                [e.stale for e in events],
            ],
        )


# How long the steps prepared so far may wait for their commit: long enough that events whose
# handlers are quick (or only touch the database) share a transaction, short enough that a slow
# service delays the commit of what was already prepared by at most one call.
_BATCH_SECONDS = 0.2


def _process_claimed(token: uuid.UUID) -> None:
    """Runs a claim's events oldest first; no transaction is ever open during an outgoing call.

    Each event is prepared outside any transaction (a handler's fetch makes its outgoing reads
    then); the prepared events are applied together in one short transaction (a savepoint each, one
    UPDATE for their outcomes) once they have waited `_BATCH_SECONDS`, or at the end. Waiting on a
    service therefore holds no lock: not the events' rows, and not the audit chain's head that every
    audited write of the tenant needs (sign-in, user changes, replays). Outgoing writes (messages)
    are sent after each commit."""
    events = list(
        WebhookEvent.objects.filter(claim_token=token, status=EventStatus.PROCESSING).order_by(
            "occurred_at", "id"
        )
    )
    lease = _Lease(token)
    ready: list[_Step] = []
    started = 0.0
    for event in events:
        lease.keep()
        if ready and time.monotonic() - started > _BATCH_SECONDS:
            _apply_batch(token, ready)
            ready = []
        if not ready:
            started = time.monotonic()
        ready.append(_prepare(event, _handler_for(event)))
    _apply_batch(token, ready)


# ---------------------------------------------------------------------------------------------
# Sweep, replay, retention
# ---------------------------------------------------------------------------------------------


def events_sweep(*, now: datetime | None = None, limit: int = 10_000) -> int:
    """Re-enqueues every due event of the active schema: `received` past its grace, `retrying` past
    its back-off, `processing` past its lease (the worker died: counts as a failed attempt)."""
    now = now or timezone.now()
    with transaction.atomic():
        lost = list(
            WebhookEvent.objects.select_for_update(skip_locked=True).filter(
                status=EventStatus.PROCESSING, next_attempt_at__lte=now
            )[:limit]
        )
        for event in lost:
            event.claim_token = None
            event.last_error = "worker lost: the processing lease expired"
            if event.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
                event.status, event.next_attempt_at = EventStatus.DEAD, None
            else:
                event.status, event.next_attempt_at = EventStatus.RETRYING, now
        WebhookEvent.objects.bulk_update(lost, ["status", "next_attempt_at", "last_error", "claim_token"])
        due = list(
            WebhookEvent.objects.filter(
                status__in=[EventStatus.RECEIVED, EventStatus.RETRYING], next_attempt_at__lte=now
            )
            .order_by("next_attempt_at")
            .values_list("id", "status")[:limit]
        )
        received = [pk for pk, status in due if status == EventStatus.RECEIVED]
        if received:  # their own new task gets a fresh grace period before the next sweep
            WebhookEvent.objects.filter(id__in=received).update(
                next_attempt_at=now + timedelta(seconds=settings.WEBHOOK_RECEIVED_GRACE_SECONDS)
            )
    ids = [pk for pk, _ in due]
    if ids:
        events_enqueue(event_ids=ids)
    return len(ids)


def events_next_due() -> datetime | None:
    """The earliest `next_attempt_at` of the schema's events the sweep looks at (the partial
    `webhookevent_due` index); what `tenants.due` keeps the tenant's marker at."""
    return (
        WebhookEvent.objects.filter(status__in=ACTIVE_STATUSES, next_attempt_at__isnull=False)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def messages_sweep(*, now: datetime | None = None) -> int:
    """Enqueues the sends of the schema's messages that are due (a failed send past its back-off, or
    one whose process died before sending: the `Message` row, not the broker, is the outbox)."""
    ids = messages_due(now=now)
    if not ids:
        return 0
    try:
        _task("send_messages").apply_async(args=[[str(pk) for pk in ids]], retry=False)
    except Exception as exc:  # the rows stay due: the next sweep tries again
        logger.warning("message send enqueue failed", extra={"error": type(exc).__name__})
        metrics.ENQUEUE_FAILURES.inc()
        return 0
    return len(ids)


REPLAYABLE = (EventStatus.DEAD, EventStatus.IGNORED, EventStatus.PROCESSED, EventStatus.RETRYING)


def _requeue(queryset: Any) -> list[int]:
    now = timezone.now()
    due = now + timedelta(seconds=settings.WEBHOOK_RECEIVED_GRACE_SECONDS)
    with transaction.atomic():
        ids = list(queryset.select_for_update(skip_locked=True).values_list("id", flat=True))
        if ids:
            due_mark(at=due)
        WebhookEvent.objects.filter(id__in=ids).update(
            status=EventStatus.RECEIVED,
            attempts=0,
            processed_at=None,
            stale=False,
            claim_token=None,
            next_attempt_at=due,
        )
        if ids:
            transaction.on_commit(lambda: events_enqueue(event_ids=ids))
    return ids


def event_replay(*, event: WebhookEvent, actor: Any = None) -> WebhookEvent:
    """Puts one event back to `received` with its attempts reset and enqueues it. Audited."""

    if event.status in (EventStatus.RECEIVED, EventStatus.PROCESSING):
        raise ApplicationError("The event is already waiting or being processed.", code="conflict")
    _requeue(WebhookEvent.objects.filter(pk=event.pk))
    audit_record(
        event=AuditEvent.REPLAY,
        target=event,
        actor=actor,
        details={"service": event.service, "event_id": event.event_id, "from_status": event.status},
    )
    event.refresh_from_db()
    return event


def events_replay(*, status: str = EventStatus.DEAD, service: str | None = None, actor: Any = None) -> int:
    """Replays every event with `status` (and `service`, if given). Audited once, with the count."""
    if status not in REPLAYABLE:
        raise ValidationError({"status": [f"Must be one of {', '.join(REPLAYABLE)}."]})
    queryset = WebhookEvent.objects.filter(status=status)
    if service:
        queryset = queryset.filter(service=service)
    ids = _requeue(queryset)
    audit_record(
        event=AuditEvent.REPLAY,
        target=(object_type_of(WebhookEvent), None),
        actor=actor,
        details={"status": status, "service": service, "requeued": len(ids)},
    )
    return len(ids)


def events_replay_ids(*, ids: list[int], actor: Any = None) -> int:
    """Replays the listed events that are replayable (admin actions). Audited once."""
    requeued = _requeue(WebhookEvent.objects.filter(id__in=ids, status__in=REPLAYABLE))
    if requeued:
        audit_record(
            event=AuditEvent.REPLAY,
            target=(object_type_of(WebhookEvent), None),
            actor=actor,
            details={"ids": requeued, "requeued": len(requeued)},
        )
    return len(requeued)


def events_purge(*, days: int | None = None, batch: int | None = None) -> int:
    """Deletes `processed` and `ignored` events received more than `days` ago, `batch` rows at a time.
    Dead events stay until replayed or purged explicitly."""
    days = settings.WEBHOOK_RETENTION_DAYS if days is None else days
    batch = batch or settings.WEBHOOK_RETENTION_BATCH
    cutoff = timezone.now() - timedelta(days=days)
    total = 0
    while True:
        ids = list(
            WebhookEvent.objects.filter(
                status__in=[EventStatus.PROCESSED, EventStatus.IGNORED], received_at__lt=cutoff
            ).values_list("id", flat=True)[:batch]
        )
        if not ids:
            return total
        total += WebhookEvent.objects.filter(id__in=ids).delete()[0]
