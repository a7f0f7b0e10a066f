"""Creating projects and labels."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Max

from accounts.models import User
from annotator.models import Label, Membership, Project, ProjectType, Role
from annotator.services import tally


class LabelConflict(Exception):
    code = "label_exists"


@transaction.atomic
def create_project(owner: User, name: str, type: ProjectType | str = ProjectType.LOCALIZATION) -> Project:
    """A new project in the default bucket under its own prefix, owned by `owner`."""
    project = Project.objects.create(owner=owner, name=name.strip(), type=ProjectType(type))
    project.prefix = f"projects/{project.pk}/"
    project.save(update_fields=["prefix"])
    Membership.objects.create(project=project, user=owner, role=Role.OWNER)
    return project


def create_label(project: Project, name: str, color: str = "") -> Label:
    name = name.strip()
    order = (project.labels.aggregate(m=Max("order"))["m"] or 0) + 1
    try:
        with transaction.atomic():
            return Label.objects.create(project=project, name=name, color=color, order=order)
    except IntegrityError:
        raise LabelConflict(f"A label named {name!r} already exists in this project.") from None


def get_or_create_label(project: Project, name: str) -> Label:
    label = project.labels.filter(name__iexact=name.strip()).first()
    if label:
        return label
    try:
        return create_label(project, name)
    except LabelConflict:  # created by someone else meanwhile
        return project.labels.get(name__iexact=name.strip())


def delete_label(label: Label) -> None:
    """Delete the label with its boxes and classes; the counts of every image it was on change."""
    with transaction.atomic():
        label.delete()
        tally.recount(label.project_id)
