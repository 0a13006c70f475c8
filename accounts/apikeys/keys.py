"""The key format and its digest: pure functions, no Django imports.

A key is `sk_<12 hex>.<43 url-safe characters>`: the part before the dot is its public prefix (it
finds the row and names the key in lists), the rest 256 random bits. A key that random needs no
slow password hash: the row stores its SHA-256, and a request costs one digest and one
constant-time comparison.
"""

import hashlib
import hmac
import re
import secrets

PREFIX_RE = re.compile(r"^sk_[0-9a-f]{12}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def key_generate() -> tuple[str, str]:
    """A new (key, prefix)."""
    prefix = "sk_" + secrets.token_hex(6)
    return f"{prefix}.{secrets.token_urlsafe(32)}", prefix


def key_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, else None (nothing malformed reaches the database)."""
    prefix, dot, secret = key.partition(".")
    if not dot or not PREFIX_RE.match(prefix) or not SECRET_RE.match(secret):
        return None
    return prefix


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(key: str, digest: str) -> bool:
    return hmac.compare_digest(key_digest(key), digest)
