"""Parallel wrong passwords: at most ANNOTATOR_LOGIN_MAX_FAILURES of them are ever checked.

Thirty threads guess at once through each door that takes a password (the login
page, the API token endpoint, the admin). Password checks are counted by a
hasher that really verifies (MD5, as the rest of the suite uses) and takes the
time a real hash would, so the guesses overlap the way an attacker's do.
Works on the in-process cache and on Redis (REDIS_URL).
"""

from __future__ import annotations

import copy
import threading
import time
import uuid

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.security.threads import run_together

GUESSES = 30
PASSWORD = "correct horse battery"  # the factories' password


class CountingHasher(MD5PasswordHasher):
    """MD5 (the suite's fast hasher) that counts every verification and lasts as long as a real one."""

    checks = 0
    _lock = threading.Lock()

    def verify(self, password: str, encoded: str) -> bool:
        with CountingHasher._lock:
            CountingHasher.checks += 1
        time.sleep(0.05)
        return super().verify(password, encoded)


@pytest.fixture(autouse=True)
def counting_hasher(settings):
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"  # this test's counts only, in a shared Redis
    settings.CACHES = caches
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    settings.ANNOTATOR_LOGIN_MAX_FAILURES = 5
    CountingHasher.checks = 0


def _guess(post) -> object:
    try:
        return post()
    finally:
        connection.close()


DOORS = {
    "login page": lambda email, password: Client().post("/accounts/login/", {"username": email, "password": password}),
    "token endpoint": lambda email, password: APIClient().post(
        "/api/v1/auth/token/", {"username": email, "password": password}
    ),
    "admin": lambda email, password: Client().post(
        "/admin/login/", {"username": email, "password": password, "next": "/admin/"}
    ),
}


def _logged_in(door: str, response) -> bool:
    if door == "token endpoint":
        return response.status_code == 200
    return response.status_code == 302


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("door", list(DOORS))
def test_parallel_wrong_passwords_are_checked_at_most_max_failures_times(door):
    user = UserFactory(is_staff=True)
    post = DOORS[door]

    responses = run_together(
        *[lambda i=i: _guess(lambda: post(user.email, f"wrong {i}")) for i in range(GUESSES)], timeout=300
    )

    assert CountingHasher.checks <= 5
    assert not any(_logged_in(door, r) for r in responses)
    # The right password is refused too while the lockout lasts, and is not even checked.
    assert not _logged_in(door, post(user.email, PASSWORD))
    assert CountingHasher.checks <= 5


@pytest.mark.django_db(transaction=True)
def test_the_lockout_page_says_why(settings):
    user = UserFactory()
    run_together(*[lambda: _guess(lambda: DOORS["login page"](user.email, "wrong")) for _ in range(10)])

    response = DOORS["login page"](user.email, PASSWORD)

    assert response.status_code == 200
    assert b"Too many failed attempts" in response.content


@pytest.mark.django_db
def test_a_success_still_clears_the_count(client):
    user = UserFactory()
    for _ in range(4):
        DOORS["login page"](user.email, "wrong")

    assert _logged_in("login page", DOORS["login page"](user.email, PASSWORD))
    for _ in range(4):
        DOORS["login page"](user.email, "wrong")
    assert _logged_in("login page", DOORS["login page"](user.email, PASSWORD))
