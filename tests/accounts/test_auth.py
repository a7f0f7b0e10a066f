"""Accounts: rate-limited login, safe redirects, password reset, closed sign-up, profile."""

from __future__ import annotations

import copy
import re
import uuid

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # the factories' password


@pytest.fixture(autouse=True)
def own_cache_keys(settings):
    """Failure counts of this test only, without flushing a cache (Redis) that others share."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


def log_in(client, email: str, password: str, **extra):
    return client.post("/accounts/login/", {"username": email, "password": password}, **extra)


def test_login_works_and_redirects_home(client):
    user = UserFactory()

    response = log_in(client, user.email.upper(), PASSWORD)

    assert response.status_code == 302 and response.url == "/"


@pytest.mark.parametrize("target", ["https://evil.example.com/", "//evil.example.com/x", "https:/\\evil.example.com"])
def test_login_never_redirects_off_site(client, target):
    user = UserFactory()

    response = client.post("/accounts/login/", {"username": user.email, "password": PASSWORD, "next": target})

    assert response.status_code == 302
    assert response.url == "/"


def test_login_follows_a_local_next(client):
    user = UserFactory()

    response = client.post(
        "/accounts/login/", {"username": user.email, "password": PASSWORD, "next": "/accounts/profile/"}
    )

    assert response.url == "/accounts/profile/"


def test_repeated_failures_lock_the_account_for_that_address_only(client, settings):
    settings.ANNOTATOR_LOGIN_MAX_FAILURES = 3
    user = UserFactory()
    for _ in range(3):
        assert log_in(client, user.email, "wrong").status_code == 200

    locked = log_in(client, user.email, PASSWORD)
    elsewhere = log_in(client.__class__(), user.email, PASSWORD, REMOTE_ADDR="10.0.0.9")

    assert locked.status_code == 200
    assert b"Too many failed attempts" in locked.content
    assert elsewhere.status_code == 302


def test_the_api_token_endpoint_shares_the_limit(settings):
    settings.ANNOTATOR_LOGIN_MAX_FAILURES = 2
    user = UserFactory()
    client = APIClient()
    for _ in range(2):
        assert client.post("/api/v1/auth/token/", {"username": user.email, "password": "wrong"}).status_code == 400

    response = client.post("/api/v1/auth/token/", {"username": user.email, "password": PASSWORD})

    assert response.status_code == 400
    assert "token" not in response.json()


def test_a_success_clears_the_count(client, settings):
    settings.ANNOTATOR_LOGIN_MAX_FAILURES = 2
    user = UserFactory()
    log_in(client, user.email, "wrong")
    assert log_in(client, user.email, PASSWORD).status_code == 302
    client.logout()

    log_in(client, user.email, "wrong")

    assert log_in(client, user.email, PASSWORD).status_code == 302


def test_password_reset_answers_the_same_for_unknown_addresses(client, settings):
    settings.BASE_URL = "https://annotate.example.org"
    user = UserFactory()

    known = client.post("/accounts/password-reset/", {"email": user.email})
    unknown = client.post("/accounts/password-reset/", {"email": "nobody@example.com"})

    assert (
        (known.status_code, known.url) == (unknown.status_code, unknown.url) == (302, "/accounts/password-reset/sent/")
    )
    (message,) = mail.outbox
    assert message.to == [user.email]
    assert message.alternatives and message.alternatives[0][1] == "text/html"


def test_password_reset_link_from_base_url_sets_a_new_password(client, settings):
    settings.BASE_URL = "https://annotate.example.org"
    user = UserFactory()
    client.post("/accounts/password-reset/", {"email": user.email})
    link = re.search(r"https://annotate\.example\.org(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)

    form = client.get(link, follow=True)
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "a new long phrase 7", "new_password2": "a new long phrase 7"}
    )

    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a new long phrase 7")


def test_sign_up_is_closed_by_default(client):
    assert client.get("/accounts/signup/").status_code == 404


def test_open_registration_creates_and_logs_in(client, settings):
    settings.ANNOTATOR_OPEN_REGISTRATION = True

    response = client.post(
        "/accounts/signup/",
        {
            "email": "Ada@Example.com",
            "display_name": "Ada",
            "password1": "a sturdy phrase 9",
            "password2": "a sturdy phrase 9",
        },
    )

    assert response.status_code == 302
    assert User.objects.get(email="ada@example.com").display_name == "Ada"
    assert client.get("/accounts/profile/").status_code == 200


def test_open_registration_validates_passwords(client, settings):
    settings.ANNOTATOR_OPEN_REGISTRATION = True

    response = client.post(
        "/accounts/signup/",
        {"email": "ada@example.com", "password1": "ada@example.com", "password2": "ada@example.com"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["password1"]


def test_profile_changes_name_and_password(client):
    user = UserFactory()
    client.force_login(user)

    client.post("/accounts/profile/", {"display_name": "Grace"})
    changed = client.post(
        "/accounts/profile/",
        {
            "change_password": "1",
            "old_password": PASSWORD,
            "new_password1": "another phrase 8",
            "new_password2": "another phrase 8",
        },
    )

    user.refresh_from_db()
    assert user.display_name == "Grace"
    assert changed.status_code == 302
    assert user.check_password("another phrase 8")
    assert client.get("/accounts/profile/").status_code == 200  # still logged in after the change
