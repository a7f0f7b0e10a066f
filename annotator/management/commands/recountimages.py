"""`manage.py recountimages [PROJECT_ID ...]`: set the maintained image counts from the rows.

The counts are kept in step by every service that writes; this is for an operator
who changed rows by hand (SQL, a restored backup) and wants the filter bar true again.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotator.models import Project
from annotator.services import tally


class Command(BaseCommand):
    help = "Recount every project's image counts (or only the given projects') and print what changed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project_ids", nargs="*", type=int, metavar="PROJECT_ID")

    def handle(self, *args: Any, **options: Any) -> None:
        projects = Project.objects.order_by("pk")
        if wanted := options["project_ids"]:
            projects = projects.filter(pk__in=wanted)
            if missing := set(wanted) - set(projects.values_list("pk", flat=True)):
                raise CommandError(f"No project with id {', '.join(map(str, sorted(missing)))}.")
        for project_id in projects.values_list("pk", flat=True):
            before = {k: n for k, n in tally.read(project_id).items() if n}
            tally.recount(project_id)
            after = {k: n for k, n in tally.read(project_id).items() if n}
            changed = {k: (before.get(k, 0), after.get(k, 0)) for k in before.keys() | after.keys()}
            drift = {k: v for k, v in sorted(changed.items()) if v[0] != v[1]}
            self.stdout.write(f"project {project_id}: " + (f"corrected {drift}" if drift else "counts were right"))
