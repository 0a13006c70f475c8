"""Standard Webhooks signatures (https://www.standardwebhooks.com): pure functions, no Django.

The signed content is `"{msg_id}.{timestamp}.{raw body}"`, the key is the base64 part of a
`whsec_<base64>` secret, and `webhook-signature` holds space-separated `v1,<base64 HMAC-SHA256>`
entries of which any one may match. Comparisons are constant time.
"""

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
import time
import uuid
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)
TOLERANCE_SECONDS = 5 * 60


class InvalidSignature(Exception):
    """The request is not signed by any of the given secrets (or is too old or too new)."""


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("signing secret is not whsec_<base64>") from exc


def _digest(key: bytes, msg_id: str, timestamp: int | str, body: bytes) -> bytes:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for this message."""
    return "v1," + base64.b64encode(_digest(_key(secret), msg_id, timestamp, body)).decode()


def signed_headers(
    secret: str, body: bytes, *, msg_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    """The three `webhook-*` headers of a message (a fresh `msg_<hex>` id and the current time unless
    given): what the sandbox, the `send_webhook` command, tests and benchmarks send."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.title())
    if value is None:
        lowered = {k.lower(): v for k, v in headers.items()}
        value = lowered.get(name)
    if not value:
        raise InvalidSignature(f"missing {name} header")
    return value


def verify(secrets: list[str], headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
    """Raises InvalidSignature unless one `v1` signature matches one of `secrets` within the tolerance."""
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signature_header = _header(headers, "webhook-signature")
    # ASCII only: "²" and other Unicode digits pass isdigit() but not int().
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise InvalidSignature("invalid webhook-timestamp")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise InvalidSignature("webhook-timestamp outside the tolerance")

    candidates: list[bytes] = []
    for entry in signature_header.split(" "):
        version, _, value = entry.partition(",")
        if version != "v1" or not value:
            continue
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        # Canonical encodings only: the unused low bits of the last character must not give several
        # spellings of one signature (the reference libraries compare the base64 text itself).
        if base64.b64encode(decoded).decode() == value:
            candidates.append(decoded)
    if not candidates:
        raise InvalidSignature("no v1 signature")

    matched = False
    for secret in secrets:
        try:
            expected = _digest(_key(secret), msg_id, timestamp, body)
        except ValueError:
            continue
        for candidate in candidates:
            # No early exit: every pair is compared, so timing says nothing about which matched.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise InvalidSignature("no matching signature")
