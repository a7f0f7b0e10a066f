"""Inviting people by e-mail, and accepting an invitation.

A token is 256 random bits from `secrets`, shown once (in the e-mail) and stored
as its SHA-256. Resending makes a new token, so an older e-mail stops working.

E-mails are throttled per invitation, so an admin's account cannot be turned
into a mail cannon against one address: at most one every RESEND_INTERVAL and
SENDS_PER_HOUR in any hour, counting every attempt (initial, resend, invite
again; failed sends too). The check and the record happen under the
invitation's row lock; a refused attempt changes nothing, so the link already
sent keeps working.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from annotator.errors import CodedError
from annotator.models import Membership, Project, Role
from teams.emails import send_invitation
from teams.models import Invitation, InvitationState

log = logging.getLogger(__name__)

INVITABLE_ROLES = (Role.ADMIN, Role.REVIEWER, Role.ANNOTATOR, Role.VIEWER)
MAX_ADDRESSES = 50
RESEND_INTERVAL = timedelta(seconds=60)
SENDS_PER_HOUR = 5
_HOUR = timedelta(hours=1)


class InvitationError(CodedError):
    """An invitation cannot be sent, accepted or changed as asked (409 when it is no longer open)."""


class ResendThrottled(InvitationError):
    """Too soon for another e-mail to this invitation; `retry_after` says how many seconds to wait."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "resend_throttled",
            f"An invitation e-mail went to this address moments ago; wait {retry_after} s before sending another.",
            retry_after=retry_after,
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class InviteOutcome:
    email: str
    status: str  # invited | reinvited | already_member | invalid | send_failed | throttled
    message: str = ""
    invitation: Invitation | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def _expiry() -> datetime:
    return timezone.now() + timedelta(days=settings.ANNOTATOR_INVITATION_DAYS)


def parse_addresses(text: str) -> list[str]:
    """Addresses separated by commas, semicolons, spaces or new lines; duplicates dropped, order kept."""
    for separator in ",;":
        text = text.replace(separator, " ")
    return list(dict.fromkeys(part.strip().lower() for part in text.split() if part.strip()))


def _claim_send(invitation: Invitation) -> None:
    """Record an e-mail attempt on the (locked) invitation, or raise ResendThrottled; the caller saves."""
    now = timezone.now()
    recent = [at for at in map(datetime.fromisoformat, invitation.send_attempts) if now - at < _HOUR]
    waits = []
    if recent:
        waits.append(recent[-1] + RESEND_INTERVAL - now)
    if len(recent) >= SENDS_PER_HOUR:
        waits.append(recent[-SENDS_PER_HOUR] + _HOUR - now)
    if (wait := max(waits, default=timedelta(0))) > timedelta(0):
        raise ResendThrottled(math.ceil(wait.total_seconds()))
    invitation.send_attempts = [at.isoformat() for at in [*recent, now][-SENDS_PER_HOUR:]]


def _deliver(invitation: Invitation, token: str) -> str:
    """Send the e-mail and record the attempt; returns the error text, empty on success."""
    try:
        send_invitation(invitation, token)
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("Invitation e-mail to %s failed: %s", invitation.email, exc)
        invitation.send_error = f"The e-mail could not be sent: {exc}"[:300]
        invitation.save(update_fields=["send_error"])
        return invitation.send_error
    invitation.sent_at = timezone.now()
    invitation.send_count += 1
    invitation.send_error = ""
    invitation.save(update_fields=["sent_at", "send_count", "send_error"])
    return ""


def _invite_one(project: Project, inviter: User, email: str, role: Role) -> InviteOutcome:
    try:
        validate_email(email)
    except ValidationError:
        return InviteOutcome(email, "invalid", "This is not a valid e-mail address.")
    if Membership.objects.filter(project=project, user__email__iexact=email).exists():
        return InviteOutcome(email, "already_member", "Already a member of this project.")
    token, token_hash = _new_token()
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .filter(project=project, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True)
            .first()
        )
        status = "reinvited" if invitation else "invited"
        invitation = invitation or Invitation(project=project, email=email)
        try:
            _claim_send(invitation)
        except ResendThrottled as exc:
            return InviteOutcome(email, "throttled", exc.message, invitation)
        invitation.role, invitation.token_hash, invitation.expires_at = role, token_hash, _expiry()
        invitation.invited_by = inviter
        try:
            with transaction.atomic():
                invitation.save()
        except IntegrityError:  # another admin invited the same address at the same moment
            return InviteOutcome(email, "reinvited", "An invitation was just sent by someone else.")
    if error := _deliver(invitation, token):
        return InviteOutcome(email, "send_failed", error, invitation)
    return InviteOutcome(email, status, "", invitation)


def invite(project: Project, inviter: User, emails: list[str], role: Role | str) -> list[InviteOutcome]:
    """Invite each address with `role`; an open invitation to the same address is refreshed and resent."""
    if role not in INVITABLE_ROLES:
        raise InvitationError(
            "invalid_role", "Invite as admin, reviewer, annotator or viewer; ownership is transferred."
        )
    if not emails:
        raise InvitationError("no_addresses", "Enter at least one e-mail address.")
    if len(emails) > MAX_ADDRESSES:
        raise InvitationError("too_many_addresses", f"Invite at most {MAX_ADDRESSES} addresses at once.")
    return [_invite_one(project, inviter, email.strip().lower(), Role(role)) for email in emails]


def resend(invitation: Invitation) -> str:
    """A fresh token and expiry, e-mailed again; returns the send error, empty on success.

    Raises ResendThrottled when the throttle holds (nothing changes then). `invitation` is refreshed.
    """
    token, token_hash = _new_token()
    with transaction.atomic():
        current = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not current.is_open:
            raise InvitationError(
                "invitation_closed", f"This invitation was already {current.state.label.lower()}.", status=409
            )
        _claim_send(current)
        current.token_hash, current.expires_at = token_hash, _expiry()
        current.save(update_fields=["token_hash", "expires_at", "send_attempts"])
    error = _deliver(current, token)
    invitation.refresh_from_db()
    return error


def revoke(invitation: Invitation) -> None:
    if not invitation.is_open:
        raise InvitationError(
            "invitation_closed", f"This invitation was already {invitation.state.label.lower()}.", status=409
        )
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])


def find(token: str) -> Invitation | None:
    """The invitation a link's token belongs to, whatever its state; None for a guessed token."""
    if not token or len(token) > 100:
        return None
    return Invitation.objects.select_related("project", "invited_by").filter(token_hash=hash_token(token)).first()


def _lock_pending(invitation: Invitation) -> Invitation:
    current = Invitation.objects.select_for_update().select_related("project").get(pk=invitation.pk)
    if current.state != InvitationState.PENDING:
        raise InvitationError(
            f"invitation_{current.state.value}", f"This invitation was {current.state.label.lower()}.", status=409
        )
    return current


def accept(invitation: Invitation, user: User) -> Membership:
    """Make `user` a member with the invited role; the account's address must be the invited one."""
    if user.email.lower() != invitation.email.lower():
        raise InvitationError(
            "wrong_account", f"This invitation is for {invitation.email}; you are logged in as {user.email}."
        )
    with transaction.atomic():
        current = _lock_pending(invitation)
        membership, _ = Membership.objects.get_or_create(
            project=current.project, user=user, defaults={"role": current.role}
        )
        current.accepted_at, current.accepted_by = timezone.now(), user
        current.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def sign_up_and_accept(invitation: Invitation, password: str, display_name: str = "") -> User:
    """Create the invited address's account (password already validated) and accept in one step."""
    with transaction.atomic():
        _lock_pending(invitation)
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise InvitationError("account_exists", "An account with this address exists; log in to accept.")
        user = User.objects.create_user(invitation.email, password, display_name=display_name.strip())
        accept(invitation, user)
    return user
