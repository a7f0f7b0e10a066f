"""Failed-login counting per (account, client address), kept in the cache (Redis in production).

Keyed on the pair so that one attacker cannot lock a victim out from everywhere,
and one address cannot try unlimited passwords on an account. The window starts
at the first failure and is not extended by later ones.
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


def record_failure(email: str, ip: str) -> None:
    key = _key(email, ip)
    cache.add(key, 0, timeout=settings.ANNOTATOR_LOGIN_LOCKOUT_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr: this failure starts a new window
        cache.set(key, 1, timeout=settings.ANNOTATOR_LOGIN_LOCKOUT_SECONDS)


def reset(email: str, ip: str) -> None:
    cache.delete(_key(email, ip))


def lockout_minutes() -> int:
    return max(1, round(settings.ANNOTATOR_LOGIN_LOCKOUT_SECONDS / 60))
