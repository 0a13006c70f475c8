"""Encryption at rest for integration API keys (Fernet, keyed from INTEGRATIONS_ENCRYPTION_KEY)."""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@cache
def _fernet() -> Fernet:
    secret = settings.INTEGRATIONS_ENCRYPTION_KEY.encode()
    key = base64.urlsafe_b64encode(hashlib.sha256(b"integrations.api_key:" + secret).digest())
    return Fernet(key)


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return ""  # the key changed: the admin must enter the API key again
