"""Team progress, for every member; and leaving a project."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.current import current_user
from annotator.access import project_page
from annotator.models import Project, Role
from annotator.permissions import Action, role_allows
from teams.services import members as member_service
from teams.services.progress import team_progress


@project_page({"GET": Action.VIEW})
def progress(request: HttpRequest, project: Project, role: Role) -> HttpResponse:
    report = team_progress(project, days=14)
    names: dict[int | None, str] = {m.user: m.name for m in report.members}  # a day's user is None once deleted
    days = [(cell, names.get(cell.user, "former member")) for cell in reversed(report.days)]
    context = {
        "project": project,
        "role": role,
        "report": report,
        "days": days,
        "can_manage": role_allows(role, Action.MANAGE_MEMBERS, project),
        "can_review": role_allows(role, Action.REVIEW, project),
    }
    return render(request, "teams/progress.html", context)


@project_page({"POST": Action.LEAVE})
def leave(request: HttpRequest, project: Project, role: Role) -> HttpResponse:
    try:
        member_service.leave(project, current_user(request))
    except member_service.MembershipError as exc:
        messages.error(request, exc.message)
        return redirect("teams:progress", project_id=project.pk)
    messages.success(request, f"You left {project.name}.")
    return redirect("annotator:project-list")
