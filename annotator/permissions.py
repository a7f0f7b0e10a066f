"""Who may do what in a project: one table, one function.

Outsiders are not told a project exists: `project_for` raises Http404 for them,
and PermissionDenied only for members whose role lacks the action.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import TextChoices
from django.http import Http404

from annotator.models import Project, Role


class Action(TextChoices):
    VIEW = "view"
    ANNOTATE = "annotate"
    CREATE_LABEL = "create_label"
    MANAGE_LABELS = "manage_labels"
    UPLOAD = "upload"
    DELETE_IMAGES = "delete_images"
    REVIEW = "review"
    LEAVE = "leave"
    INVITE = "invite"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_PROJECT = "manage_project"
    TRAIN = "train"
    PREDICT = "predict"
    DOWNLOAD = "download"
    DELETE_PROJECT = "delete_project"
    TRANSFER_OWNERSHIP = "transfer_ownership"


_VIEWER = {Action.VIEW, Action.DOWNLOAD, Action.LEAVE}
_ANNOTATOR = _VIEWER | {Action.ANNOTATE, Action.CREATE_LABEL, Action.UPLOAD}
_REVIEWER = _ANNOTATOR | {Action.REVIEW}
_ADMIN = _REVIEWER | {
    Action.MANAGE_LABELS,
    Action.DELETE_IMAGES,
    Action.INVITE,
    Action.MANAGE_MEMBERS,
    Action.MANAGE_PROJECT,
    Action.TRAIN,
    Action.PREDICT,
}

PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.OWNER: frozenset(Action),
    Role.ADMIN: frozenset(_ADMIN),
    Role.REVIEWER: frozenset(_REVIEWER),
    Role.ANNOTATOR: frozenset(_ANNOTATOR),
    Role.VIEWER: frozenset(_VIEWER),
}


def role_allows(role: Role | str | None, action: Action, project: Project | None = None) -> bool:
    """The table lookup, plus the one per-project switch (annotators creating labels)."""
    if role is None:
        return False
    role = Role(role)
    if (
        action == Action.CREATE_LABEL
        and project is not None
        and not project.annotators_create_labels
        and role in (Role.ANNOTATOR, Role.REVIEWER)
    ):
        return False
    return action in PERMISSIONS[role]


def can(user, action: Action, project: Project) -> bool:
    return role_allows(project.role_of(user), action, project)


def project_for(user, project_id: int | str, action: Action = Action.VIEW) -> tuple[Project, Role]:
    """The project as seen by `user`, or 404 for outsiders, or 403 for a member lacking `action`."""
    try:
        project = Project.objects.get(pk=int(project_id))
    except (Project.DoesNotExist, ValueError, TypeError):
        raise Http404("No such project.") from None
    role = project.role_of(user)
    if role is None:
        raise Http404("No such project.")
    if not role_allows(role, action, project):
        raise PermissionDenied(f"Your role ({role.label}) may not {action.label.lower()} in this project.")
    return project, role
