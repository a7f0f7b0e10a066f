"""Credentials at rest: encrypted with the environment's key, rotatable, unreadable without it."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from annotator.buckets.crypto import CredentialsUnreadable, decrypt, encrypt


def test_round_trip_with_the_key_derived_from_secret_key(settings):
    settings.ANNOTATOR_ENCRYPTION_KEY = ""

    token = encrypt("my secret")

    assert "my secret" not in token
    assert decrypt(token) == "my secret"


def test_keys_rotate_first_encrypts_all_decrypt(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ANNOTATOR_ENCRYPTION_KEY = old
    token = encrypt("kept across rotation")

    settings.ANNOTATOR_ENCRYPTION_KEY = f"{new},{old}"

    assert decrypt(token) == "kept across rotation"
    assert Fernet(new.encode()).decrypt(encrypt("x").encode()) == b"x"


def test_a_lost_key_says_to_enter_the_credentials_again(settings):
    settings.ANNOTATOR_ENCRYPTION_KEY = Fernet.generate_key().decode()
    token = encrypt("secret")
    settings.ANNOTATOR_ENCRYPTION_KEY = Fernet.generate_key().decode()

    with pytest.raises(CredentialsUnreadable, match="enter the access key and secret again"):
        decrypt(token)


def test_a_malformed_key_fails_loudly(settings):
    settings.ANNOTATOR_ENCRYPTION_KEY = "not-a-fernet-key"

    with pytest.raises(ImproperlyConfigured, match="Fernet"):
        encrypt("secret")
