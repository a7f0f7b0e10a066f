"""Projects, who belongs to them, and the labels they use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


class ProjectType(models.TextChoices):
    LOCALIZATION = "localization", "Object detection (boxes)"
    CLASSIFICATION = "classification", "Classification"


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    VIEWER = "viewer", "Viewer"


class ProjectQuerySet(models.QuerySet["Project"]):
    def for_user(self, user: User | AnonymousUser) -> ProjectQuerySet:
        """Projects the user is a member of; nobody else's exist for them."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Project(models.Model):
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=ProjectType.choices, default=ProjectType.LOCALIZATION)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_projects")
    # Where the bytes live: a bucket (empty = the instance's default bucket) and a key prefix.
    bucket = models.CharField(max_length=255, blank=True)
    prefix = models.CharField(max_length=512, blank=True)
    annotators_create_labels = models.BooleanField(
        default=True, help_text="Annotators may add new labels while labelling."
    )
    # Off: nobody approves or rejects an image they labelled last (four eyes on every decision).
    reviewers_review_own_work = models.BooleanField(
        default=False, help_text="Reviewers may approve or reject images they labelled themselves."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    def role_of(self, user: User | AnonymousUser) -> Role | None:
        if not user.is_authenticated:
            return None
        role = self.memberships.filter(user=user).values_list("role", flat=True).first()
        return Role(role) if role else None


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique"),
            # At most one owner per project; "at least one" is kept by teams.services.members under a lock.
            models.UniqueConstraint(fields=["project"], condition=models.Q(role="owner"), name="membership_one_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} as {self.role}"


LABEL_COLOURS = [
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0",
    "#f032e6", "#bcf60c", "#008080", "#9a6324", "#800000", "#808000",
]  # fmt: skip


class Label(models.Model):
    NAME_MAX_LENGTH: ClassVar[int] = 100

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    color = models.CharField(max_length=7, blank=True)
    order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint("project", Lower("name"), name="label_name_unique_ci"),
            models.CheckConstraint(condition=~models.Q(name=""), name="label_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.color:
            used = self.project.labels.count() if self.project_id else 0
            self.color = LABEL_COLOURS[used % len(LABEL_COLOURS)]
        super().save(*args, **kwargs)
