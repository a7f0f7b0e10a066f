"""Shared steps of the team tests: invite through the API and pull the link out of the e-mail."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.core import mail

from tests.conftest import client_for

LINK = re.compile(r"https?://\S+/invitations/[A-Za-z0-9_\-]+/")


def invite(project, inviter, *emails: str, role: str = "annotator", **extra):
    return client_for(inviter).post(
        f"/api/v1/projects/{project.pk}/invitations/", {"emails": list(emails), "role": role}, format="json", **extra
    )


def last_link() -> str:
    """The accept link in the most recent e-mail (text body), as a path for the test client."""
    match = LINK.search(mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return urlsplit(match.group(0)).path


def age_sends(invitation, seconds: float) -> None:
    """Move the invitation's recorded e-mail attempts `seconds` into the past, past the resend throttle."""
    invitation.refresh_from_db()
    invitation.send_attempts = [
        (datetime.fromisoformat(at) - timedelta(seconds=seconds)).isoformat() for at in invitation.send_attempts
    ]
    invitation.save(update_fields=["send_attempts"])
