"""The Review page: labelled images one at a time, drawn with their boxes, approved or rejected."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from annotator.access import project_page
from annotator.ids import MAX_VERSION, parse_count, parse_id
from annotator.models import Image, ImageStatus, Project, ReviewDecision, Role
from annotator.permissions import Action, role_allows
from annotator.services.annotations import StaleVersion
from annotator.services.review import MAX_COMMENT_LENGTH, NotReviewable, OwnWork, may_review, review_image


def _shapes(image: Image) -> list[dict]:
    """Boxes in the image's pixel space, for an SVG drawn over it (attributes, no inline styles)."""
    return [
        {
            "x": box.x * image.width,
            "y": box.y * image.height,
            "w": (box.x2 - box.x) * image.width,
            "h": (box.y2 - box.y) * image.height,
            "color": box.label.color,
            "name": box.label.name,
        }
        for box in image.boxes.select_related("label")
    ]


@project_page({"GET": Action.REVIEW})
def review(request: HttpRequest, project: Project, role: Role) -> HttpResponse:
    waiting = project.images.filter(status=ImageStatus.LABELLED)
    if not project.reviewers_review_own_work:
        waiting = waiting.exclude(annotated_by=request.user)  # theirs wait for someone else
    if image_id := request.GET.get("image", ""):
        image = get_object_or_404(project.images, pk=parse_id(image_id) or 0)
    else:
        image = waiting.first()
    context = {
        "project": project,
        "role": role,
        "image": image,
        "waiting": waiting.count(),
        "can_review": True,
        "own_work": image is not None and not may_review(image, request.user),
        "can_manage": role_allows(role, Action.MANAGE_MEMBERS, project),
        "max_comment": MAX_COMMENT_LENGTH,
    }
    if image is not None:
        context.update(
            shapes=_shapes(image),
            classes=list(image.labels.all()),
            history=image.reviews.select_related("reviewer")[:10],
            file_url=reverse("api:image-file", args=[project.pk, image.pk]),
        )
    return render(request, "teams/review.html", context)


@project_page({"POST": Action.REVIEW})
def decide(request: HttpRequest, project: Project, role: Role, image_id: int) -> HttpResponse:
    image = get_object_or_404(project.images, pk=image_id)
    decision = {"approve": ReviewDecision.APPROVED, "reject": ReviewDecision.REJECTED}.get(request.POST.get("decision"))
    version = parse_count(request.POST.get("version", ""), maximum=MAX_VERSION)
    if decision is None or version is None:
        messages.error(request, "Choose Approve or Reject.")
        return redirect(f"{reverse('teams:review', args=[project.pk])}?image={image.pk}")
    try:
        review_image(image, request.user, decision, request.POST.get("comment", ""), version=version)
    except (NotReviewable, OwnWork) as exc:
        messages.error(request, str(exc))
    except StaleVersion:
        messages.error(request, f"{image.key} changed while you looked at it; review it again.")
        return redirect(f"{reverse('teams:review', args=[project.pk])}?image={image.pk}")
    else:
        messages.success(request, f"{image.key}: {decision.label.lower()}.")
    return redirect("teams:review", project_id=project.pk)
