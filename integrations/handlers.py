"""What a provider's `HANDLERS` map an event type to, so that no transaction spans an outgoing call.

- A plain function `handler(event)` only reads and writes the database. The engine runs it inside
  the event's transaction (several such events may share one, each in its own savepoint).
- `FetchThenApply(fetch, apply)` is for an effect that needs the service's API first:
  `fetch(event)` runs before any transaction is opened (outgoing reads such as `GET /users/{id}`;
  it may raise the errors of `integrations.errors`), then `apply(event, fetched)` writes inside the
  event's transaction, with no outgoing call.
Outgoing writes are never made by a handler: it records them as rows (a `Message` to send) that are
sent after the commit, so a slow or failing service never holds a lock.
A handler's database writes may be run twice: a batch is first applied without a savepoint per
event, and when one of its handlers raises, the batch is rolled back and applied again.
The rollback undoes the first run's writes and its `on_commit` callbacks; anything else a handler
did (a global, a log line) is not undone, which is why handlers only write to the database.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .models import WebhookEvent

PlainHandler = Callable[[WebhookEvent], None]


@dataclass(frozen=True)
class FetchThenApply:
    fetch: Callable[[WebhookEvent], Any]
    apply: Callable[[WebhookEvent, Any], None]


Handler = PlainHandler | FetchThenApply
