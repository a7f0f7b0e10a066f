"""accounts.current.current_user: the signed-in User of a Django or DRF request, never nobody."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from rest_framework.request import Request

from accounts.current import current_user
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_signed_in_request_gives_its_user():
    user = UserFactory()
    request = RequestFactory().get("/")
    request.user = user
    assert current_user(request) is user
    drf_request = Request(request)
    drf_request.user = user
    assert current_user(drf_request) is user


def test_an_anonymous_request_is_refused_not_served_as_nobody():
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with pytest.raises(PermissionDenied):
        current_user(request)
    drf_request = Request(request)
    drf_request.user = AnonymousUser()
    with pytest.raises(PermissionDenied):
        current_user(drf_request)
