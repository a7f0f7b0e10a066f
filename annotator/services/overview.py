"""The home page's project cards: size, share annotated, last activity and a few thumbnails.

Cost does not grow with the number of projects or images: one query reads the memberships with
their projects, each project's last activity and its first thumbnails (correlated subqueries that
each take one row from an index), and one query reads every project's maintained counts
(`ImageTally`). Nothing counts or aggregates over a project's images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Model, OuterRef, Subquery
from django.urls import reverse

from annotator.models import AnnotationEvent, Image, ImageStatus, ImageTally, Membership, Project, ReviewEvent, Role
from annotator.services import tally

THUMBNAILS = 3


@dataclass
class ProjectCard:
    project: Project
    role: Role
    images: int
    annotated: int
    last_activity: datetime
    thumbnails: list[str] = field(default_factory=list)

    @property
    def percent_annotated(self) -> int:
        return share_percent(self.annotated, self.images)


def share_percent(part: int, whole: int) -> int:
    """Whole percent, rounded down, so 100% means every image (199 of 200 shows 99%, not 100%)."""
    return part * 100 // whole if whole else 0


def _latest(model: type[Model], column: str = "created_at") -> Subquery:
    return Subquery(
        model._default_manager.filter(project=OuterRef("project_id")).order_by(f"-{column}").values(column)[:1]
    )


def _nth_image(n: int) -> Subquery:
    # The grid's first images (by key): the (project, key) unique index gives them without a sort.
    images = Image.objects.filter(project=OuterRef("project_id"), missing=False).order_by("key")
    return Subquery(images.values("pk")[n : n + 1])


def project_cards(user) -> list[ProjectCard]:
    """The user's projects, newest first, as cards (two queries in all)."""
    thumbs = {f"thumb_{n}": _nth_image(n) for n in range(THUMBNAILS)}
    memberships = list(
        Membership.objects.filter(user=user)
        .select_related("project", "project__bucket_connection")
        .annotate(last_annotation=_latest(AnnotationEvent), last_review=_latest(ReviewEvent), **thumbs)
        .order_by("-project__created_at", "-project_id")
    )
    counts = _status_counts([m.project_id for m in memberships])
    cards = []
    for m in memberships:
        statuses = counts.get(m.project_id, {})
        moments = [t for t in (m.last_annotation, m.last_review) if t is not None]
        urls = [
            reverse("api:image-thumbnail", args=[m.project_id, pk])
            for pk in (getattr(m, name) for name in thumbs)
            if pk is not None
        ]
        cards.append(
            ProjectCard(
                project=m.project,
                role=Role(m.role),
                images=sum(statuses.values()),
                annotated=tally.annotated(statuses),
                last_activity=max(moments, default=m.project.created_at),
                thumbnails=urls,
            )
        )
    return cards


def _status_counts(project_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per project, its present images per status, from the maintained counts (one indexed query)."""
    keys = [tally.status_key(s) for s in ImageStatus.values]
    rows = ImageTally.objects.filter(project_id__in=project_ids, key__in=keys).values_list("project_id", "key", "n")
    counts: dict[int, dict[str, int]] = {}
    for project_id, key, n in rows:
        counts.setdefault(project_id, {})[key.removeprefix("status:")] = n
    return counts
