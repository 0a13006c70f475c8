"""Integrations: webhook intake and processing, outgoing calls to the three services (timeouts,
retries, a circuit breaker shared through Redis) and the periodic user sync."""

from .core import SECRET_KEY, env

# API keys of integrations are encrypted with a key derived from this (SECRET_KEY by default).
INTEGRATIONS_ENCRYPTION_KEY = env.str("INTEGRATIONS_ENCRYPTION_KEY", default=SECRET_KEY)
# Rotation: the old key moves here; stored API keys open with any, new ones are sealed with the first.
INTEGRATIONS_ENCRYPTION_KEY_FALLBACKS = env.list("INTEGRATIONS_ENCRYPTION_KEY_FALLBACKS", default=[])

# Webhook intake: what a delivery may be, and how long a rotated secret keeps verifying.
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)
WEBHOOK_MAX_BATCH = env.int("WEBHOOK_MAX_BATCH", default=1000)
WEBHOOK_MAX_JSON_DEPTH = env.int("WEBHOOK_MAX_JSON_DEPTH", default=32)
WEBHOOK_PREVIOUS_SECRET_HOURS = env.int("WEBHOOK_PREVIOUS_SECRET_HOURS", default=24)

# Processing: attempts with full-jitter back-off, uniform(0, min(cap, base * 2^(attempt-1))) seconds.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_BACKOFF_BASE_SECONDS = env.float("WEBHOOK_BACKOFF_BASE_SECONDS", default=5.0)
WEBHOOK_BACKOFF_CAP_SECONDS = env.float("WEBHOOK_BACKOFF_CAP_SECONDS", default=900.0)
# Events claimed and processed together (one transaction); a task processes chunks until none is left.
WEBHOOK_CHUNK_SIZE = env.int("WEBHOOK_CHUNK_SIZE", default=100)
WEBHOOK_MAX_CHUNKS_PER_TASK = env.int("WEBHOOK_MAX_CHUNKS_PER_TASK", default=50)
# A large batch starts up to this many tasks at once, so several worker processes share it.
WEBHOOK_MAX_PARALLEL_TASKS = env.int("WEBHOOK_MAX_PARALLEL_TASKS", default=4)
# How long a "processing is on its way" marker lives if its task never starts (the sweep is the backstop).
WEBHOOK_KICK_TTL_SECONDS = env.int("WEBHOOK_KICK_TTL_SECONDS", default=10)
# A `processing` event whose worker has not finished after this long is taken up again.
WEBHOOK_PROCESSING_LEASE_SECONDS = env.float("WEBHOOK_PROCESSING_LEASE_SECONDS", default=300.0)
# The sweep leaves a `received` event this long to its own task before re-enqueueing it.
WEBHOOK_RECEIVED_GRACE_SECONDS = env.float("WEBHOOK_RECEIVED_GRACE_SECONDS", default=30.0)
WEBHOOK_SWEEP_INTERVAL_SECONDS = env.float("WEBHOOK_SWEEP_INTERVAL_SECONDS", default=15.0)
# Processed and ignored events are deleted after this many days (dead ones are kept), in batches.
WEBHOOK_RETENTION_DAYS = env.int("WEBHOOK_RETENTION_DAYS", default=30)
WEBHOOK_RETENTION_BATCH = env.int("WEBHOOK_RETENTION_BATCH", default=5000)
# After a failed publish the web process stops trying the broker for this long (the sweep catches up).
WEBHOOK_BROKER_BACKOFF_SECONDS = env.float("WEBHOOK_BROKER_BACKOFF_SECONDS", default=5.0)

# Outgoing calls (integrations/http.py): timeouts, retries with back-off, and the circuit breaker.
INTEGRATIONS_HTTP_CONNECT_TIMEOUT = env.float("INTEGRATIONS_HTTP_CONNECT_TIMEOUT", default=3.05)
INTEGRATIONS_HTTP_READ_TIMEOUT = env.float("INTEGRATIONS_HTTP_READ_TIMEOUT", default=10.0)
INTEGRATIONS_HTTP_MAX_ATTEMPTS = env.int("INTEGRATIONS_HTTP_MAX_ATTEMPTS", default=3)
INTEGRATIONS_HTTP_BACKOFF_BASE = env.float("INTEGRATIONS_HTTP_BACKOFF_BASE", default=0.25)
INTEGRATIONS_HTTP_BACKOFF_CAP = env.float("INTEGRATIONS_HTTP_BACKOFF_CAP", default=4.0)
# A Retry-After longer than this is not slept in the worker: the event is rescheduled instead.
INTEGRATIONS_HTTP_MAX_INLINE_WAIT = env.float("INTEGRATIONS_HTTP_MAX_INLINE_WAIT", default=10.0)
INTEGRATIONS_BREAKER_FAILURES = env.int("INTEGRATIONS_BREAKER_FAILURES", default=5)
INTEGRATIONS_BREAKER_RESET_SECONDS = env.float("INTEGRATIONS_BREAKER_RESET_SECONDS", default=30.0)
# A probe that has not reported after this long (its process died) is replaced by another.
INTEGRATIONS_BREAKER_PROBE_TTL_SECONDS = env.float("INTEGRATIONS_BREAKER_PROBE_TTL_SECONDS", default=30.0)
INTEGRATIONS_BREAKER_REDIS_TIMEOUT = env.float("INTEGRATIONS_BREAKER_REDIS_TIMEOUT", default=0.5)
# The sandbox services (manage.py run_sandbox) that `make run` points the demo tenant at.
SANDBOX_URL = env.str("SANDBOX_URL", default="http://127.0.0.1:8100")

# User sync: a failed reconciliation younger than this resumes at its page; an older one starts again.
INTEGRATIONS_SYNC_RESUME_SECONDS = env.int("INTEGRATIONS_SYNC_RESUME_SECONDS", default=3600)
INTEGRATIONS_SYNC_INTERVAL_SECONDS = env.float("INTEGRATIONS_SYNC_INTERVAL_SECONDS", default=3600.0)
