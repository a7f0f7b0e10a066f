"""The invitation e-mail: text and HTML bodies from templates, link from BASE_URL only."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from teams.models import Invitation


def invitation_link(token: str) -> str:
    """Absolute link to accept; never built from the request's Host header, which a client controls."""
    return settings.BASE_URL + reverse("teams:accept", args=[token])


def send_invitation(invitation: Invitation, token: str) -> None:
    """Send the e-mail now; SMTP and network errors propagate to the caller, which records them."""
    inviter = invitation.invited_by
    context = {
        "invitation": invitation,
        "project": invitation.project,
        "inviter": inviter.name if inviter else "A project admin",
        "role": invitation.get_role_display().lower(),
        "link": invitation_link(token),
        "expires_at": invitation.expires_at,
        "base_url": settings.BASE_URL,
    }
    subject = render_to_string("teams/email/invitation_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=" ".join(subject.splitlines()),
        body=render_to_string("teams/email/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.email],
    )
    message.attach_alternative(render_to_string("teams/email/invitation.html", context), "text/html")
    message.send()
