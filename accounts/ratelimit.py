"""Failed-login counting per (account, client address), kept in the cache (Redis in production).

Keyed on the pair so that one attacker cannot lock a victim out from everywhere,
and one address cannot try unlimited passwords on an account. The window starts
at the first attempt and is not extended by later ones.

Every attempt is counted *before* its password is checked, with the cache's
atomic increment: of any number of parallel guesses only the first
ANNOTATOR_LOGIN_MAX_FAILURES get a password check, whatever their timing.
A successful login clears the count (so it never counts against its owner).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_ip(request: HttpRequest | None) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def _key(email: str, ip: str) -> str:
    digest = hashlib.sha256(f"{email.strip().lower()}|{ip}".encode()).hexdigest()
    return f"login-failures:{digest}"


def is_locked(email: str, ip: str) -> bool:
    return cache.get(_key(email, ip), 0) >= settings.ANNOTATOR_LOGIN_MAX_FAILURES


def begin_attempt(email: str, ip: str) -> bool:
    """Count an attempt on the pair; False when it is over the limit and its password must not be checked."""
    key, window = _key(email, ip), settings.ANNOTATOR_LOGIN_LOCKOUT_SECONDS
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this attempt starts a new window
        cache.add(key, 0, timeout=window)
        count = cache.incr(key)
    if count == 1:
        # Redis' INCR recreates a key that expired after Django's existence check, without an expiry;
        # the first attempt of a window (re)sets it so a count can never outlive its window.
        cache.touch(key, window)
    return count <= settings.ANNOTATOR_LOGIN_MAX_FAILURES


def reset(email: str, ip: str) -> None:
    cache.delete(_key(email, ip))


def lockout_minutes() -> int:
    return max(1, round(settings.ANNOTATOR_LOGIN_LOCKOUT_SECONDS / 60))
