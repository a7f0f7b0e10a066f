"""The signed-in user of a request, typed as our User.

`request.user` is `User | AnonymousUser` to a type checker. Views behind a sign-in guard
(`login_required`, `LoginRequiredMixin`, `project_page`, DRF's `IsAuthenticated`) take the user
from here instead: the guard has already turned anonymous visitors away, so the check below only
fires if a view lost its guard, and then it refuses rather than acting for nobody.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.request import Request

from accounts.models import User


def current_user(request: HttpRequest | Request) -> User:
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    return user
