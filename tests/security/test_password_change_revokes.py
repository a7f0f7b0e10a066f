"""A new password ends every other way in: API tokens are deleted, other sessions logged out.

Each door that sets a password is covered: the profile page (the current
session stays logged in), the e-mailed reset link (nothing stays logged in),
the admin's password form, and `set_password` + `save` as `manage.py
changepassword` does. A hash upgrade at login is not a password change and
revokes nothing.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core import mail
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # the factories' password
NEW = "a brand new phrase 7"


def _token_works(key: str) -> bool:
    response = APIClient().get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code in (200, 401), response.content
    return response.status_code == 200


def _session(user: User) -> Client:
    client = Client()
    assert client.post("/accounts/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    return client


def _logged_in(client: Client) -> bool:
    return client.get("/accounts/profile/").status_code == 200


class QuickPBKDF2(PBKDF2PasswordHasher):
    """A preferred hasher other than the suite's MD5, so that logging in upgrades the stored hash."""

    algorithm = "quick_pbkdf2"
    iterations = 1000


@pytest.fixture
def user() -> User:
    return UserFactory(display_name="Ada")


@pytest.fixture
def token(user) -> str:
    return Token.objects.create(user=user).key


def test_changing_the_password_on_the_profile_page_revokes_tokens_and_other_sessions(user, token):
    here, elsewhere = _session(user), _session(user)
    assert _token_works(token)

    changed = here.post(
        "/accounts/profile/",
        {"change_password": "1", "old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )

    assert changed.status_code == 302
    assert not _token_works(token)
    assert not Token.objects.filter(user=user).exists()
    assert not _logged_in(elsewhere)
    assert _logged_in(here)  # the session that changed it stays


def test_a_password_reset_revokes_tokens_and_every_session(user, token, settings):
    settings.BASE_URL = "https://annotate.example.org"
    elsewhere = _session(user)
    assert _token_works(token)
    resetting = Client()
    resetting.post("/accounts/password-reset/", {"email": user.email})
    link = re.search(r"https://annotate\.example\.org(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form = resetting.get(link, follow=True)

    done = resetting.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})

    assert done.status_code == 302
    assert not _token_works(token)
    assert not _logged_in(elsewhere)


def test_the_admin_setting_a_password_revokes_tokens(user, token):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)

    response = client.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": NEW, "password2": NEW, "usable_password": "true"},
    )

    assert response.status_code == 302, response.content
    assert not _token_works(token)


@pytest.mark.parametrize("unusable", [False, True])
def test_set_password_and_save_revokes_tokens(user, token, unusable):
    """What `manage.py changepassword` does, and an operator disabling the password."""
    user.set_unusable_password() if unusable else user.set_password(NEW)
    user.save()

    assert not _token_works(token)


def test_saving_a_user_without_a_new_password_keeps_tokens(user, token):
    user.display_name = "Grace"
    user.save()

    assert _token_works(token)


def test_a_hash_upgrade_at_login_is_not_a_password_change(user, token, settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.QuickPBKDF2", "django.contrib.auth.hashers.MD5PasswordHasher"]

    assert _session(user)

    user.refresh_from_db()
    assert user.password.startswith("quick_pbkdf2$")  # upgraded on login...
    assert _token_works(token)  # ...without revoking anything
