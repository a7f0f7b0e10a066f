"""`manage.py createproject NAME --type localization|classification [--owner EMAIL]`: prints the id."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from annotator.models import ProjectType
from annotator.services.projects import create_project


class Command(BaseCommand):
    help = "Create a project and print its id; the owner defaults to the instance's admin account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--type", choices=ProjectType.values, default=ProjectType.LOCALIZATION)
        parser.add_argument("--owner", metavar="EMAIL", help=f"Default: {settings.ANNOTATOR_ADMIN_EMAIL}.")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name:
            raise CommandError("The project needs a name.")
        email = options["owner"] or settings.ANNOTATOR_ADMIN_EMAIL
        owner = User.objects.filter(email__iexact=email).first()
        if owner is None:
            raise CommandError(f"No account with the e-mail address {email}; create it first or pass --owner.")
        project = create_project(owner, name, options["type"])
        self.stdout.write(str(project.pk))
