"""Factories for rows, and the standard cast of personas."""

from __future__ import annotations

from dataclasses import dataclass

import factory

from accounts.models import User
from annotator.models import Image, Label, Membership, Project, Role
from annotator.services.projects import create_project


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.django.Password("correct horse battery")


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Label

    name = factory.Sequence(lambda n: f"label-{n}")


class ImageFactory(factory.django.DjangoModelFactory):
    """An image row only; bytes are not stored."""

    class Meta:
        model = Image

    key = factory.Sequence(lambda n: f"img-{n:06d}.jpg")
    width = 640
    height = 480
    sha256 = factory.Sequence(lambda n: f"{n:064x}")


@dataclass
class Personas:
    project: Project
    owner: User
    admin: User
    annotator: User
    reviewer: User
    viewer: User
    outsider: User
    other_project: Project

    def of(self, role: str | None) -> User | None:
        return {"owner": self.owner, "admin": self.admin, "annotator": self.annotator, "reviewer": self.reviewer,
                "viewer": self.viewer, "outsider": self.outsider, "anonymous": None}[role]  # fmt: skip


def member(project: Project, role: Role) -> User:
    user = UserFactory()
    Membership.objects.create(project=project, user=user, role=role)
    return user


def make_persona_project(type: str = "localization") -> Personas:
    owner = UserFactory()
    project = create_project(owner, "Raccoons", type)
    outsider = UserFactory()
    return Personas(
        project=project,
        owner=owner,
        admin=member(project, Role.ADMIN),
        annotator=member(project, Role.ANNOTATOR),
        reviewer=member(project, Role.REVIEWER),
        viewer=member(project, Role.VIEWER),
        outsider=outsider,
        other_project=create_project(outsider, "Not yours"),
    )
