"""The labelling editor page: a shell that the TypeScript editor fills in.

Everything the editor needs to start (who you are, what you may do, where the
API and the websocket are) travels as data attributes, never as inline script:
the Content-Security-Policy forbids inline code.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from annotator.access import project_page
from annotator.models import Project, Role
from annotator.permissions import Action, role_allows


@project_page({"GET": Action.VIEW})
def editor(request: HttpRequest, project: Project, role: Role) -> HttpResponse:
    context = {
        "project": project,
        "role": role,
        "can_annotate": role_allows(role, Action.ANNOTATE, project),
        "can_create_label": role_allows(role, Action.CREATE_LABEL, project),
        "api_base": reverse("api:project-detail", args=[project.pk]),
        "ws_path": f"/ws/projects/{project.pk}/",
        "project_url": reverse("annotator:project-detail", args=[project.pk]),
        "login_url": reverse("accounts:login"),
    }
    return render(request, "annotator/editor.html", context)
