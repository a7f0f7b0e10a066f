"""Pages: the project list, a new project, and a project's image grid."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from annotator.access import project_page
from annotator.formats import READERS, WRITERS
from annotator.forms import ProjectForm
from annotator.models import Membership, Project, Role
from annotator.permissions import Action, role_allows
from annotator.services.projects import create_project


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user).select_related("project").order_by("-project__created_at")
    )
    return render(request, "annotator/project_list.html", {"memberships": memberships})


@login_required
def project_new(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = create_project(request.user, form.cleaned_data["name"], form.cleaned_data["type"])
        return redirect("annotator:project-detail", project_id=project.pk)
    return render(request, "annotator/project_new.html", {"form": form})


@project_page({"GET": Action.VIEW})
def project_detail(request: HttpRequest, project: Project, role: Role) -> HttpResponse:
    context = {
        "project": project,
        "role": role,
        "can_upload": role_allows(role, Action.UPLOAD, project),
        "can_delete": role_allows(role, Action.DELETE_IMAGES, project),
        "can_review": role_allows(role, Action.REVIEW, project),
        "can_manage": role_allows(role, Action.MANAGE_MEMBERS, project),
        "can_manage_storage": role_allows(role, Action.MANAGE_PROJECT, project),
        "import_formats": READERS,
        "export_formats": WRITERS,
    }
    return render(request, "annotator/project_detail.html", context)
