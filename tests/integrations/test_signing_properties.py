"""Properties of the signature verifier: whatever one byte changes, the message is refused."""

import base64

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from integrations.signing import InvalidSignature, sign, verify

NOW = 1_700_000_000
secrets_ = st.binary(min_size=1, max_size=64).map(lambda key: "whsec_" + base64.b64encode(key).decode())
msg_ids = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=60)
bodies = st.binary(min_size=0, max_size=512)
timestamps = st.integers(min_value=NOW - 300, max_value=NOW + 300)
PROPERTY = settings(database=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])


def _headers(msg_id: str, ts: str, signature: str) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": signature}


def _refused(secret: str, headers: dict[str, str], body: bytes) -> bool:
    try:
        verify([secret], headers, body, now=NOW)
    except InvalidSignature:
        return True
    return False


def _replace_one(data: bytes, index: int, byte: int) -> bytes:
    index %= len(data)
    assume(data[index] != byte)
    return data[:index] + bytes([byte]) + data[index + 1 :]


@PROPERTY
@given(secrets_, msg_ids, timestamps, bodies)
def test_what_is_signed_verifies(secret, msg_id, ts, body):
    verify([secret], _headers(msg_id, str(ts), sign(secret, msg_id, ts, body)), body, now=NOW)


@PROPERTY
@given(secrets_, msg_ids, timestamps, bodies, st.data())
def test_any_one_byte_change_of_the_body_is_refused(secret, msg_id, ts, body, data):
    headers = _headers(msg_id, str(ts), sign(secret, msg_id, ts, body))
    kind = data.draw(st.sampled_from(["replace", "insert", "delete"]) if body else st.just("insert"))
    index = data.draw(st.integers(min_value=0, max_value=max(len(body) - 1, 0)))
    if kind == "replace":
        changed = _replace_one(body, index, data.draw(st.integers(0, 255)))
    elif kind == "insert":
        changed = body[:index] + bytes([data.draw(st.integers(0, 255))]) + body[index:]
    else:
        changed = body[:index] + body[index + 1 :]
    assert _refused(secret, headers, changed)


@PROPERTY
@given(secrets_, msg_ids, timestamps, bodies, st.data())
def test_any_one_byte_change_of_the_id_is_refused(secret, msg_id, ts, body, data):
    signature = sign(secret, msg_id, ts, body)
    raw = msg_id.encode()
    index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    changed = _replace_one(raw, index, data.draw(st.integers(0x21, 0x7E))).decode()
    assert _refused(secret, _headers(changed, str(ts), signature), body)


@PROPERTY
@given(secrets_, msg_ids, timestamps, bodies, st.data())
def test_any_one_byte_change_of_the_timestamp_is_refused(secret, msg_id, ts, body, data):
    signature = sign(secret, msg_id, ts, body)
    raw = str(ts).encode()
    index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    # Any byte a header can carry (Django decodes header bytes as latin-1): digits, signs, "²"...
    byte = data.draw(st.one_of(st.sampled_from(b"0123456789\xb2\xb3\xb9"), st.integers(0x20, 0xFF)))
    changed = _replace_one(raw, index, byte).decode("latin-1")
    assert _refused(secret, _headers(msg_id, changed, signature), body)


@PROPERTY
@given(secrets_, msg_ids, timestamps, bodies, st.data())
def test_any_one_byte_change_of_the_signature_is_refused(secret, msg_id, ts, body, data):
    signature = sign(secret, msg_id, ts, body).encode()
    # The last base64 character before "=" carries two unused bits: the likeliest accepted change.
    index = data.draw(st.one_of(st.just(len(signature) - 2), st.integers(0, len(signature) - 1)))
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
    byte = data.draw(st.one_of(st.sampled_from(alphabet), st.integers(0x20, 0xFF)))
    changed = _replace_one(signature, index, byte).decode("latin-1")
    assert _refused(secret, _headers(msg_id, str(ts), changed), body)


@PROPERTY
@given(
    st.dictionaries(
        st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature", "Webhook-Id", "x"]),
        st.text(st.characters(max_codepoint=0xFF), max_size=80),
    ),
    bodies,
)
def test_verify_refuses_anything_without_raising_anything_else(headers, body):
    with pytest.raises(InvalidSignature):
        verify(["whsec_" + base64.b64encode(b"k" * 32).decode()], headers, body, now=NOW)
