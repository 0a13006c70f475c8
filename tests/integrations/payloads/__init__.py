"""Example webhook payloads, one JSON file per event type of the three services.

Each file is an event as its service sends it (`<type with _>.json`, e.g. `user_created.json`), so
they document what the platform receives; the handler tests start from them. Optional fields the
files leave out: `data.role` on `user.*` events (tests add it where it matters).
"""

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def at(minutes: int) -> str:
    """An ISO 8601 time `minutes` after the examples' own `occurred_at`."""
    return (T0 + timedelta(minutes=minutes)).isoformat()


@cache
def _example(event_type: str) -> dict[str, Any]:
    return dict(json.loads((HERE / f"{event_type.replace('.', '_')}.json").read_text()))


def payload_types() -> set[str]:
    """Every event type that has an example."""
    return {json.loads(path.read_text())["type"] for path in HERE.glob("*.json")}


def payload(
    event_type: str,
    *,
    minutes: int = 0,
    occurred_at: str | None = None,
    event_id: str | None = None,
    **data: Any,
) -> dict[str, Any]:
    """The example of `event_type` as a new event: its own id, `occurred_at` `minutes` after the
    example's (or as given), and `data` fields replaced by the keyword arguments."""
    document = copy.deepcopy(_example(event_type))
    document["id"] = event_id or f"evt_{uuid.uuid4().hex}"
    document["occurred_at"] = occurred_at or at(minutes)
    document["data"].update(data)
    return document
