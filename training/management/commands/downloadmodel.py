"""`manage.py downloadmodel`: a run's model folders, checked against their sha256, for scripts and CI.

    manage.py downloadmodel --project 1 --latest --format model_web --out app/model/
    manage.py downloadmodel --project 1 --run 12 --out models/
    manage.py downloadmodel 12 --out models/          (the run id alone, as before)

`--latest` picks what `GET .../models/latest/<format>.zip` answers: the newest succeeded run whose
export passed its check (for all four formats, none may have failed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotator.models import Project
from annotator.storage import BucketError, project_bucket
from training.artifacts import ALL_MODELS, MODEL_NAMES, extract_models, latest_model
from training.models import Run, RunStatus


class Command(BaseCommand):
    help = "Write a succeeded run's model folders (all four, or one --format) into a folder."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run_id", type=int, nargs="?", help="A run id (or use --project with --latest/--run).")
        parser.add_argument("--project", type=int, help="The project whose models to download.")
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--latest", action="store_true", help="The newest succeeded run with verified models.")
        which.add_argument("--run", type=int, help="This run of the project.")
        parser.add_argument("--format", choices=(*MODEL_NAMES, ALL_MODELS), default=ALL_MODELS,
                            help="One model folder; default: all four.")  # fmt: skip
        parser.add_argument("--out", type=Path, default=Path("."), help="Folder to write the model folders into.")

    def handle(self, *args: Any, **options: Any) -> None:
        names = MODEL_NAMES if options["format"] == ALL_MODELS else (options["format"],)
        run = self._run(options)
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"Run {run.pk} has {run.status}; only succeeded runs have models.")
        try:
            folders = extract_models(run, project_bucket(run.project), options["out"], names)
        except (BucketError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        if len(folders) != len(names):
            raise CommandError(f"Run {run.pk} has {len(folders)} of {len(names)} model folders.")
        if options["verbosity"] > 1:
            self.stderr.write(f"run {run.pk}")
        for folder in folders:
            self.stdout.write(str(folder))

    def _run(self, options: dict) -> Run:
        runs = Run.objects.select_related("project")
        if options["run_id"] is not None:
            if options["project"] or options["latest"] or options["run"]:
                raise CommandError("Give a run id, or --project with --latest or --run, not both.")
            return self._found(runs.filter(pk=options["run_id"]).first(), f"No run {options['run_id']}.")
        if options["project"] is None or not (options["latest"] or options["run"]):
            raise CommandError("Say which run: RUN_ID, or --project ID with --latest or --run N.")
        project: Project = self._found(
            Project.objects.filter(pk=options["project"]).first(), f"No project {options['project']}."
        )
        if options["run"]:
            return self._found(runs.filter(project=project, pk=options["run"]).first(),
                               f"Project {project.pk} has no run {options['run']}.")  # fmt: skip
        artifact = latest_model(project, options["format"])
        message = f"Project {project.pk} has no succeeded run with verified {options['format']} yet."
        return self._found(artifact, message).run

    @staticmethod
    def _found(value: Any, message: str) -> Any:
        if value is None:
            raise CommandError(message)
        return value
