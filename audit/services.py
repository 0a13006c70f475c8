"""Audit interface used by every app (issue 4 replaces these bodies with the real trail).

`audit_record` writes one entry for something that is not a row change (a login, a replay, a
secret rotation, a platform admin reading a tenant); `acting_as` names the actor of changes made
outside a request, e.g. `with acting_as("system:user-service"): ...` in webhook processing.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger("audit")


def audit_record(
    *,
    action: str,
    object_type: str,
    object_id: str | int | None = None,
    changes: dict[str, Any] | None = None,
    actor: str | None = None,
) -> None:
    logger.info(
        "audit",
        extra={
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "changes": changes,
            "actor": actor,
        },
    )


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    yield
