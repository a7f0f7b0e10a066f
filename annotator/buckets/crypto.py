"""Encryption at rest for storage credentials.

The key comes from ANNOTATOR_ENCRYPTION_KEY: one or more Fernet keys, comma-separated,
the first used to encrypt and all tried to decrypt, so keys can be rotated. Without it
a key is derived from SECRET_KEY, which keeps a laptop install working; production
should set its own so that rotating SECRET_KEY does not lock stored credentials away.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from annotator.errors import CodedError


class CredentialsUnreadable(CodedError):
    """Stored credentials cannot be decrypted with the configured keys."""

    status = 409

    def __init__(self, message: str) -> None:
        super().__init__("credentials_unreadable", message)


def _fernet() -> MultiFernet:
    configured = [k.strip() for k in settings.ANNOTATOR_ENCRYPTION_KEY.split(",") if k.strip()]
    if not configured:
        digest = hashlib.sha256(b"annotator-credentials:" + settings.SECRET_KEY.encode()).digest()
        configured = [base64.urlsafe_b64encode(digest).decode()]
    try:
        return MultiFernet([Fernet(key) for key in configured])
    except ValueError:
        raise ImproperlyConfigured(
            "ANNOTATOR_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64-encoded bytes), comma-separated; "
            'make one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        ) from None


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise CredentialsUnreadable(
            "The stored storage credentials cannot be decrypted with the configured ANNOTATOR_ENCRYPTION_KEY; "
            "enter the access key and secret again."
        ) from None
