"""Following an invitation link: sign up or log in, then join the project.

The page answers every state of a link plainly: unknown (guessed or mistyped),
used, revoked, expired, or meant for another account.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.current import current_user
from accounts.forms import InvitedSignupForm
from accounts.models import User
from teams.models import Invitation, InvitationState
from teams.services import invitations as invitation_service


def _closed(request: HttpRequest, invitation: Invitation | None, state: str, message: str = "") -> HttpResponse:
    context = {"invitation": invitation, "state": state, "message": message}
    return render(request, "teams/invitation_closed.html", context, status=404 if invitation is None else 410)


def _joined(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    messages.success(request, f"Welcome to {invitation.project.name}.")
    return redirect("annotator:project-detail", project_id=invitation.project_id)


def _accept_as(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    user = current_user(request)
    if user.email.lower() != invitation.email.lower():
        context = {"invitation": invitation}
        return render(request, "teams/invitation_wrong_account.html", context, status=403)
    if request.method != "POST":
        return render(request, "teams/invitation_accept.html", {"invitation": invitation})
    try:
        invitation_service.accept(invitation, user)
    except invitation_service.InvitationError as exc:
        return _closed(request, invitation, exc.code, exc.message)
    return _joined(request, invitation)


def _sign_up(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    form = InvitedSignupForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = invitation_service.sign_up_and_accept(invitation, data["password1"], data["display_name"])
        except invitation_service.InvitationError as exc:
            return _closed(request, invitation, exc.code, exc.message)
        login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        return _joined(request, invitation)
    return render(request, "teams/invitation_signup.html", {"invitation": invitation, "form": form})


def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    invitation = invitation_service.find(token)
    if invitation is None:
        return _closed(request, None, "unknown")
    state = invitation.state
    if (
        state == InvitationState.ACCEPTED
        and request.user.is_authenticated
        and invitation.accepted_by_id == request.user.pk
    ):
        return redirect("annotator:project-detail", project_id=invitation.project_id)
    if state != InvitationState.PENDING:
        return _closed(request, invitation, state.value)
    if request.user.is_authenticated:
        return _accept_as(request, invitation)
    if User.objects.filter(email__iexact=invitation.email).exists():
        messages.info(request, f"Log in as {invitation.email} to accept the invitation to {invitation.project.name}.")
        return redirect_to_login(request.get_full_path())
    return _sign_up(request, invitation)
