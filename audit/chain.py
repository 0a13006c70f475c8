"""The tamper-evident chain: pure functions, no Django.

Every entry of a schema's trail carries `chain_hash = HMAC-SHA256(key, canonical(entry))`, where
the canonical form includes the schema, the entry's position (`seq`) and the previous entry's
hash. Changing, removing, reordering or inserting an entry breaks the chain from that point on,
and without the key (kept outside the database) nobody can compute a replacement chain.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

# What is hashed, in this order of meaning (the canonical JSON sorts keys anyway).
HASHED_FIELDS = (
    "schema",
    "seq",
    "prev_hash",
    "timestamp",
    "actor",
    "actor_email",
    "action",
    "event",
    "object_type",
    "object_pk",
    "object_repr",
    "changes",
    "additional_data",
    "remote_addr",
    "user_agent",
    "request_id",
)


def canonical(values: Mapping[str, Any]) -> bytes:
    """Stable bytes for an entry: sorted keys, no whitespace, UTF-8."""
    return json.dumps(
        {name: values.get(name) for name in HASHED_FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def digest(key: bytes, values: Mapping[str, Any]) -> str:
    return hmac.new(key, canonical(values), hashlib.sha256).hexdigest()


def genesis(key: bytes, schema: str) -> str:
    """The `prev_hash` of a schema's first entry: ties the chain to its schema."""
    return hmac.new(key, f"genesis|{schema}".encode(), hashlib.sha256).hexdigest()
