"""Encryption at rest for stored secrets (IdP client secrets, integrations' API keys).

Fernet, with one key per purpose derived from a configured secret and its fallbacks: values are
sealed with the first key and open with any of them, so a key is rotated by moving the old one
to the fallbacks (Django's SECRET_KEY_FALLBACKS rule). A value sealed with a key no longer
configured opens as "", and the admin enters the secret again.
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

# purpose -> (setting of the current secret, setting of its fallbacks)
PURPOSES = {
    "sso-secret": ("SECRET_KEY", "SECRET_KEY_FALLBACKS"),
    "integrations.api_key": ("INTEGRATIONS_ENCRYPTION_KEY", "INTEGRATIONS_ENCRYPTION_KEY_FALLBACKS"),
}


@lru_cache(maxsize=16)
def _fernet_for(purpose: str, secrets: tuple[str, ...]) -> MultiFernet:
    return MultiFernet(
        [
            Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"{purpose}:{secret}".encode()).digest()))
            for secret in secrets
        ]
    )


def _fernet(purpose: str) -> MultiFernet:
    current, fallbacks = PURPOSES[purpose]
    secrets = (getattr(settings, current), *getattr(settings, fallbacks, []))
    return _fernet_for(purpose, tuple(secrets))


def secret_encrypt(plain: str, *, purpose: str) -> str:
    """The sealed value to store; "" stays "" (nothing stored)."""
    return _fernet(purpose).encrypt(plain.encode()).decode() if plain else ""


def secret_decrypt(token: str, *, purpose: str) -> str:
    """The stored secret; "" when none is stored or it was sealed with a key no longer configured."""
    if not token:
        return ""
    try:
        return _fernet(purpose).decrypt(token.encode()).decode()
    except InvalidToken:
        return ""
