"""The one authentication backend: Django's model backend behind the login rate limit.

Sitting in the backend, the limit covers every door that takes a password:
the login page, the API token endpoint and the admin. The attempt is counted
before the password is checked (see accounts.ratelimit), so parallel guesses
cannot all slip in while the count still looks low.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts import ratelimit


class RateLimitedModelBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        email = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
        if email is None or password is None:
            return None  # not a password login: nothing to count
        ip = ratelimit.client_ip(request)
        if not ratelimit.begin_attempt(email, ip):
            raise PermissionDenied("Too many failed logins.")  # stops the chain: no backend gets to try
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            ratelimit.reset(email, ip)
        return user
