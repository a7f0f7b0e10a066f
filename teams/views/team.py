"""The Team page (admins and owners): members, roles, invitations; and the owner's danger zone."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts.current import current_user
from annotator.access import project_page
from annotator.models import Project, Role
from annotator.permissions import Action, role_allows
from teams.forms import ROLE_CHOICES, DeleteProjectForm, InviteForm, RoleForm, TransferForm
from teams.models import Invitation
from teams.services import invitations as invitation_service
from teams.services import members as member_service

_OUTCOME_TEXT = {
    "invited": "invited",
    "reinvited": "invited again (the earlier link no longer works)",
    "already_member": "already a member",
    "invalid": "not a valid address",
    "send_failed": "invitation saved, but the e-mail failed",
    "throttled": "not sent again yet",
}


def _team_page(
    request: HttpRequest, project: Project, role: Role, invite_form: InviteForm | None = None
) -> HttpResponse:
    members = project.memberships.select_related("user").order_by("created_at")
    context = {
        "project": project,
        "role": role,
        "members": members,
        "invitations": [i for i in Invitation.objects.filter(project=project) if i.is_open],
        "invite_form": invite_form or InviteForm(),
        "role_choices": ROLE_CHOICES,
        "is_owner": role_allows(role, Action.TRANSFER_OWNERSHIP, project),
        "transfer_candidates": [m for m in members if m.user_id != request.user.pk],
        "can_delete": role_allows(role, Action.DELETE_PROJECT, project),
    }
    return render(request, "teams/team.html", context, status=400 if invite_form else 200)


@project_page({"GET": Action.MANAGE_MEMBERS})
def team(request: HttpRequest, project: Project, role: Role) -> HttpResponse:
    return _team_page(request, project, role)


@project_page({"POST": Action.INVITE})
def invite(request: HttpRequest, project: Project, role: Role) -> HttpResponse:
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _team_page(request, project, role, form)
    outcomes = invitation_service.invite(
        project, current_user(request), form.cleaned_data["emails"], form.cleaned_data["role"]
    )
    for outcome in outcomes:
        level = messages.SUCCESS if outcome.status in ("invited", "reinvited") else messages.WARNING
        detail = f": {outcome.message}" if outcome.status in ("send_failed", "throttled") else ""
        messages.add_message(request, level, f"{outcome.email}: {_OUTCOME_TEXT[outcome.status]}{detail}")
    return redirect("teams:team", project_id=project.pk)


def _run(request: HttpRequest, action: Callable[[], object], success: str) -> None:
    """Call a service and turn its refusal into a message on the Team page."""
    try:
        action()
    except (member_service.MembershipError, invitation_service.InvitationError) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)


@project_page({"POST": Action.MANAGE_MEMBERS})
def member_role(request: HttpRequest, project: Project, role: Role, user_id: int) -> HttpResponse:
    membership = get_object_or_404(project.memberships.select_related("user"), user_id=user_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        new_role = form.cleaned_data["role"]
        _run(
            request,
            lambda: member_service.change_role(current_user(request), membership, new_role),
            f"{membership.user.name} is now {new_role}.",
        )
    else:
        messages.error(request, "Pick one of the offered roles.")
    return redirect("teams:team", project_id=project.pk)


@project_page({"POST": Action.MANAGE_MEMBERS})
def member_remove(request: HttpRequest, project: Project, role: Role, user_id: int) -> HttpResponse:
    membership = get_object_or_404(project.memberships.select_related("user"), user_id=user_id)
    _run(
        request,
        lambda: member_service.remove_member(current_user(request), membership),
        f"{membership.user.name} was removed.",
    )
    return redirect("teams:team", project_id=project.pk)


@project_page({"POST": Action.INVITE})
def invitation_resend(request: HttpRequest, project: Project, role: Role, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(project.invitations, pk=invitation_id)
    try:
        error = invitation_service.resend(invitation)
    except invitation_service.InvitationError as exc:
        messages.error(request, exc.message)
    else:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"Invitation to {invitation.email} sent again with a new link.")
    return redirect("teams:team", project_id=project.pk)


@project_page({"POST": Action.INVITE})
def invitation_revoke(request: HttpRequest, project: Project, role: Role, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(project.invitations, pk=invitation_id)
    _run(request, lambda: invitation_service.revoke(invitation), f"Invitation to {invitation.email} revoked.")
    return redirect("teams:team", project_id=project.pk)


@project_page({"POST": Action.TRANSFER_OWNERSHIP})
def transfer(request: HttpRequest, project: Project, role: Role) -> HttpResponse:
    form = TransferForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick the member who becomes the owner.")
    else:
        target = form.cleaned_data["user"]
        _run(
            request,
            lambda: member_service.transfer_ownership(project, current_user(request), target),
            "Ownership transferred.",
        )
    return redirect("teams:team", project_id=project.pk)


@project_page({"GET": Action.DELETE_PROJECT, "POST": Action.DELETE_PROJECT})
def project_delete(request: HttpRequest, project: Project, role: Role) -> HttpResponse:
    form = DeleteProjectForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        name = project.name
        project.delete()
        messages.success(request, f"Project {name!r} was deleted.")
        return redirect("annotator:project-list")
    return render(request, "teams/project_delete.html", {"project": project, "form": form})
