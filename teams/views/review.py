"""The Review page: the reviewer's queue, one image at a time, decided from the keyboard.

The page is a shell the TypeScript review app (frontend/src/review.ts) fills in from the
API (`review/queue/`, `images/{id}/review/`, `review/bulk/`); everything it needs to start
travels as data attributes, since the Content-Security-Policy forbids inline script.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from accounts.current import current_user
from annotator.access import project_page
from annotator.api.review import QueueItemSerializer
from annotator.ids import parse_id
from annotator.models import Project, Role
from annotator.permissions import Action
from annotator.services.review import MAX_BULK_REVIEW, MAX_COMMENT_LENGTH, waiting


@project_page({"GET": Action.REVIEW})
def review(request: HttpRequest, project: Project, role: Role) -> HttpResponse:
    start = None
    if image_id := request.GET.get("image", ""):
        image = get_object_or_404(project.images.select_related("annotated_by"), pk=parse_id(image_id) or 0)
        start = QueueItemSerializer(image).data  # the queue's own shape, so the app shows it like the others
    context = {
        "project": project,
        "role": role,
        "start": start,
        "waiting": waiting(project, current_user(request)).count(),
        "max_comment": MAX_COMMENT_LENGTH,
        "max_bulk": MAX_BULK_REVIEW,
        "api_base": reverse("api:project-detail", args=[project.pk]),
        "editor_url": reverse("annotator:editor", args=[project.pk]),
    }
    return render(request, "teams/review.html", context)
