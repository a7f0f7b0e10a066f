"""Pages: the project list, a new project, and a project's image grid."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.current import current_user
from annotator.access import project_page
from annotator.formats import READERS, WRITERS
from annotator.forms import ProjectForm
from annotator.models import Project, Role
from annotator.permissions import Action, role_allows
from annotator.services.overview import project_cards
from annotator.services.projects import create_project
from config.middleware import bucket_origins


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    cards = project_cards(current_user(request))
    response = render(request, "annotator/project_list.html", {"cards": cards})
    # Thumbnails of projects on their own buckets arrive by presigned link from there.
    response.img_origins = [  # type: ignore[attr-defined]
        origin
        for card in cards
        if (storage := getattr(card.project, "bucket_connection", None)) is not None
        for origin in bucket_origins(storage.endpoint_url, storage.addressing_style)
    ]
    return response


@login_required
def project_new(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = create_project(
            current_user(request),
            form.cleaned_data["name"],
            form.cleaned_data["type"],
            form.cleaned_data["label_names"],
        )
        return redirect("annotator:project-detail", project_id=project.pk)
    return render(request, "annotator/project_new.html", {"form": form})


@project_page({"GET": Action.VIEW})
def project_detail(request: HttpRequest, project: Project, role: Role) -> HttpResponse:
    context = {
        "project": project,
        "role": role,
        "can_upload": role_allows(role, Action.UPLOAD, project),
        "can_delete": role_allows(role, Action.DELETE_IMAGES, project),
        "can_annotate": role_allows(role, Action.ANNOTATE, project),
        "can_create_label": role_allows(role, Action.CREATE_LABEL, project),
        "can_manage_labels": role_allows(role, Action.MANAGE_LABELS, project),
        "can_review": role_allows(role, Action.REVIEW, project),
        "can_predict": role_allows(role, Action.PREDICT, project),
        "can_manage": role_allows(role, Action.MANAGE_MEMBERS, project),
        "can_manage_storage": role_allows(role, Action.MANAGE_PROJECT, project),
        "import_formats": READERS,
        "export_formats": WRITERS,
    }
    return render(request, "annotator/project_detail.html", context)
