"""Invitations: the e-mail, its link end to end, and every way a link can be unusable."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import User
from annotator.models import Membership, Role
from teams.models import Invitation
from teams.services import invitations as invitation_service
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.teams.helpers import age_sends, invite, last_link

pytestmark = pytest.mark.django_db

PASSWORD = "a sturdy pass phrase 42"


def sign_up(client: Client, link: str, password: str = PASSWORD):
    return client.post(link, {"display_name": "Ada", "password1": password, "password2": password})


def test_email_has_text_and_html_bodies_with_a_link_from_base_url(personas, settings):
    settings.BASE_URL = "https://annotate.example.org"
    settings.ALLOWED_HOSTS = ["*"]  # even where any Host is accepted, it never reaches the link

    response = invite(personas.project, personas.admin, "new@example.com", HTTP_HOST="evil.example.com")

    assert response.status_code == 201, response.json()
    (message,) = mail.outbox
    assert message.to == ["new@example.com"]
    assert personas.project.name in message.subject
    assert "https://annotate.example.org/invitations/" in message.body
    assert "evil.example.com" not in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert last_link() in html and "annotator" in html.lower()
    assert "expires" in message.body


def test_token_is_random_enough_and_stored_only_as_its_hash(personas):
    invite(personas.project, personas.admin, "new@example.com")
    token = last_link().rstrip("/").rsplit("/", 1)[1]

    invitation = Invitation.objects.get()
    assert len(token) >= 43  # 32 bytes of randomness, base64url
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in [getattr(invitation, f.attname) for f in Invitation._meta.fields]


def test_link_from_the_email_signs_up_and_joins_with_the_role(personas, client):
    invite(personas.project, personas.admin, "New@Example.com", role="reviewer")

    response = sign_up(client, last_link())

    assert response.status_code == 302
    assert response.url == f"/projects/{personas.project.pk}/"
    user = User.objects.get(email="new@example.com")
    assert user.display_name == "Ada"
    assert Membership.objects.get(project=personas.project, user=user).role == Role.REVIEWER
    assert client.get(response.url).status_code == 200  # logged in, and a member


def test_sign_up_applies_password_validation(personas, client):
    invite(personas.project, personas.admin, "new@example.com")

    response = sign_up(client, last_link(), password="123")

    assert response.status_code == 200
    assert "password1" in response.context["form"].errors
    assert not User.objects.filter(email="new@example.com").exists()


def test_used_link_says_so_and_does_not_work_twice(personas, client):
    invite(personas.project, personas.admin, "new@example.com")
    link = last_link()
    sign_up(client, link)

    response = Client().post(link, {"display_name": "Eve", "password1": PASSWORD, "password2": PASSWORD})

    assert response.status_code == 410
    assert b"already used" in response.content
    assert User.objects.filter(email="new@example.com").count() == 1


def test_expired_link_says_so(personas, client):
    invite(personas.project, personas.admin, "new@example.com")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client.get(last_link())

    assert response.status_code == 410
    assert b"expired" in response.content


def test_expiry_comes_from_the_setting(personas, settings):
    settings.ANNOTATOR_INVITATION_DAYS = 2
    invite(personas.project, personas.admin, "new@example.com")

    left = Invitation.objects.get().expires_at - timezone.now()

    assert timedelta(days=1, hours=23) < left <= timedelta(days=2)


def test_revoked_link_says_so_and_cannot_be_accepted(personas, client):
    invite(personas.project, personas.admin, "new@example.com")
    link = last_link()
    invitation = Invitation.objects.get()

    revoked = client_for(personas.admin).delete(f"/api/v1/projects/{personas.project.pk}/invitations/{invitation.pk}/")
    response = sign_up(client, link)

    assert revoked.status_code == 204
    assert response.status_code == 410
    assert b"withdrawn" in response.content
    assert not User.objects.filter(email="new@example.com").exists()


def test_guessed_token_gets_a_clear_404(personas, client):
    invite(personas.project, personas.admin, "new@example.com")

    response = client.get("/invitations/" + "A" * 43 + "/")

    assert response.status_code == 404
    assert b"not valid" in response.content


def test_resend_makes_a_new_link_and_kills_the_old_one(personas, client):
    invite(personas.project, personas.admin, "new@example.com")
    old_link = last_link()
    invitation = Invitation.objects.get()
    age_sends(invitation, 61)  # past the one-a-minute resend throttle

    response = client_for(personas.admin).post(
        f"/api/v1/projects/{personas.project.pk}/invitations/{invitation.pk}/resend/"
    )
    new_link = last_link()

    assert response.status_code == 200
    assert len(mail.outbox) == 2 and new_link != old_link
    assert client.get(old_link).status_code == 404
    assert client.get(new_link).status_code == 200


def test_logged_in_with_another_account_is_refused(personas, client):
    invite(personas.project, personas.admin, "new@example.com")
    client.force_login(personas.outsider)

    shown = client.get(last_link())
    posted = client.post(last_link())

    assert shown.status_code == posted.status_code == 403
    assert b"another account" in shown.content
    assert not Membership.objects.filter(project=personas.project, user=personas.outsider).exists()


def test_wrong_account_is_refused_by_the_service_too(personas):
    invite(personas.project, personas.admin, "new@example.com")

    with pytest.raises(invitation_service.InvitationError) as refused:
        invitation_service.accept(Invitation.objects.get(), personas.outsider)

    assert refused.value.code == "wrong_account"


def test_existing_account_logs_in_then_accepts(personas, client):
    existing = UserFactory(email="known@example.com")
    invite(personas.project, personas.admin, "known@example.com", role="viewer")
    link = last_link()

    anonymous = client.get(link)
    client.force_login(existing)
    confirm = client.get(link)
    accepted = client.post(link)

    assert anonymous.status_code == 302 and anonymous.url.startswith("/accounts/login/?next=/invitations/")
    assert confirm.status_code == 200 and b"Accept the invitation" in confirm.content
    assert accepted.status_code == 302
    assert Membership.objects.get(project=personas.project, user=existing).role == Role.VIEWER


def test_a_get_never_accepts(personas, client):
    existing = UserFactory(email="known@example.com")
    invite(personas.project, personas.admin, "known@example.com")
    client.force_login(existing)

    client.get(last_link())

    assert not Membership.objects.filter(project=personas.project, user=existing).exists()


def test_inviting_several_addresses_reports_each(personas):
    response = invite(
        personas.project, personas.admin, "a@example.com", "not-an-address", personas.viewer.email, role="annotator"
    )

    statuses = {r["email"]: r["status"] for r in response.json()["results"]}
    assert response.status_code == 201
    assert statuses == {
        "a@example.com": "invited",
        "not-an-address": "invalid",
        personas.viewer.email: "already_member",
    }
    assert [m.to for m in mail.outbox] == [["a@example.com"]]


def test_inviting_again_refreshes_the_open_invitation(personas):
    invite(personas.project, personas.admin, "a@example.com", role="viewer")
    age_sends(Invitation.objects.get(), 61)  # past the one-a-minute resend throttle

    response = invite(personas.project, personas.admin, "A@example.com", role="reviewer")

    assert response.json()["results"][0]["status"] == "reinvited"
    assert Invitation.objects.get().role == Role.REVIEWER


def test_owner_cannot_be_invited(personas):
    response = invite(personas.project, personas.owner, "a@example.com", role="owner")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_failed_email_is_recorded_and_reported(personas, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2

    response = invite(personas.project, personas.admin, "a@example.com")

    result = response.json()["results"][0]
    assert result["status"] == "send_failed"
    assert "could not be sent" in result["message"]
    assert Invitation.objects.get().sent_at is None
