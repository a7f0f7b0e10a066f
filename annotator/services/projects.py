"""Creating projects and labels."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.db.models import Max

from accounts.models import User
from annotator.errors import CodedError
from annotator.models import Label, Membership, Project, ProjectType, Role
from annotator.services import labels as label_service


class LabelConflict(CodedError):
    status = 409

    def __init__(self, message: str) -> None:
        super().__init__("label_exists", message)


MAX_LABEL_NAME = Label.NAME_MAX_LENGTH
MAX_LABELS_AT_CREATION = 500


class InvalidLabelList(CodedError):
    """A typed or pasted list of labels that cannot be used as it is."""


def parse_label_names(text: str) -> list[str]:
    """Label names from text: one per line or comma-separated, blanks ignored, in the order given."""
    return check_label_names([part for line in text.splitlines() for part in line.split(",")])


def check_label_names(names: Sequence[str]) -> list[str]:
    """The names stripped, blanks dropped; refused if one is too long or given twice.

    A name given twice (case-insensitively) is refused rather than silently dropped: the
    person probably meant two different labels and mistyped one.
    """
    names = [name.strip() for name in names if name.strip()]
    if len(names) > MAX_LABELS_AT_CREATION:
        raise InvalidLabelList("too_many_labels", f"At most {MAX_LABELS_AT_CREATION} labels at once.")
    seen: dict[str, str] = {}
    for name in names:
        if len(name) > MAX_LABEL_NAME:
            raise InvalidLabelList(
                "label_too_long", f"{name[:20]!r}…: a label has at most {MAX_LABEL_NAME} characters."
            )
        if name.casefold() in seen:
            first = seen[name.casefold()]
            raise InvalidLabelList(
                "duplicate_label", f"{name!r} is listed twice (also as {first!r}); labels differ in more than case."
            )
        seen[name.casefold()] = name
    return names


@transaction.atomic
def create_project(
    owner: User, name: str, type: ProjectType | str = ProjectType.LOCALIZATION, labels: Sequence[str] = ()
) -> Project:
    """A new project in the default bucket under its own prefix, owned by `owner`, with `labels` in order."""
    project = Project.objects.create(owner=owner, name=name.strip(), type=ProjectType(type))
    project.prefix = f"projects/{project.pk}/"
    project.save(update_fields=["prefix"])
    Membership.objects.create(project=project, user=owner, role=Role.OWNER)
    for label in labels:
        create_label(project, label)
    return project


def create_label(project: Project, name: str, color: str = "") -> Label:
    name = name.strip()
    order = (project.labels.aggregate(m=Max("order"))["m"] or 0) + 1
    try:
        with transaction.atomic():
            label = Label.objects.create(project=project, name=name, color=color, order=order)
    except IntegrityError:
        raise LabelConflict(f"A label named {name!r} already exists in this project.") from None
    label_service.announce(project.pk)  # open pages list it at once (editors also notice it on first use)
    return label


def get_or_create_label(project: Project, name: str) -> Label:
    label = project.labels.filter(name__iexact=name.strip()).first()
    if label:
        return label
    try:
        return create_label(project, name)
    except LabelConflict:  # created by someone else meanwhile
        return project.labels.get(name__iexact=name.strip())
