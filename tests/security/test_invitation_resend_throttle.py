"""Invitation e-mails are throttled: one a minute per invitation, a few an hour, whichever door sends them.

Resend (API and Team page) and inviting an address again both e-mail a new
link; either is refused with the wait while the throttle holds, and a refused
attempt changes nothing (the link already sent keeps working).
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from teams.models import Invitation
from teams.services import invitations as invitation_service
from tests.conftest import client_for
from tests.teams.helpers import age_sends, invite, last_link

pytestmark = pytest.mark.django_db


def _resend(personas, invitation):
    return client_for(personas.admin).post(
        f"/api/v1/projects/{personas.project.pk}/invitations/{invitation.pk}/resend/"
    )


@pytest.fixture
def invited(personas) -> Invitation:
    assert invite(personas.project, personas.admin, "new@example.com").status_code == 201
    return Invitation.objects.get()


def test_a_resend_right_after_the_e_mail_is_refused_with_the_wait(personas, invited):
    link = last_link()

    response = _resend(personas, invited)

    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "resend_throttled"
    assert 55 <= error["retry_after"] <= 60 and response["Retry-After"] == str(error["retry_after"])
    assert len(mail.outbox) == 1
    assert Client().get(link).status_code == 200  # the link already sent still works


def test_a_minute_later_it_goes_out(personas, invited):
    age_sends(invited, 61)

    response = _resend(personas, invited)

    assert response.status_code == 200
    assert len(mail.outbox) == 2


def test_at_most_five_e_mails_an_hour(personas, invited):
    for _ in range(4):
        age_sends(invited, 61)
        assert _resend(personas, invited).status_code == 200
    age_sends(invited, 61)

    refused = _resend(personas, invited)

    assert refused.status_code == 429
    # The first of the five went out 5 x 61 s ago: the next is allowed when it is an hour old.
    assert 3600 - 5 * 61 - 5 <= refused.json()["error"]["retry_after"] <= 3600 - 5 * 61
    assert len(mail.outbox) == 5


def test_inviting_the_address_again_is_throttled_too(personas, invited):
    link = last_link()

    response = invite(personas.project, personas.admin, "new@example.com", role="reviewer")

    (result,) = response.json()["results"]
    assert response.status_code == 200
    assert result["status"] == "throttled" and "wait" in result["message"]
    assert len(mail.outbox) == 1
    invited.refresh_from_db()
    assert invited.role == "annotator"
    assert Client().get(link).status_code == 200


def test_the_team_page_says_to_wait(client, personas, invited):
    client.force_login(personas.admin)

    page = client.post(f"/projects/{personas.project.pk}/team/invitations/{invited.pk}/resend/", follow=True)

    assert b"wait" in page.content
    assert len(mail.outbox) == 1


def test_a_failed_e_mail_counts_as_an_attempt(personas, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    invite(personas.project, personas.admin, "new@example.com")

    with pytest.raises(invitation_service.ResendThrottled):
        invitation_service.resend(Invitation.objects.get())
