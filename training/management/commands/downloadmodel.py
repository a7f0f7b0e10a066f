"""`manage.py downloadmodel RUN_ID --out DIR`: the four model folders of a finished run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotator.storage import BucketError, project_bucket
from training.artifacts import MODEL_NAMES, extract_models
from training.models import Run, RunStatus


class Command(BaseCommand):
    help = "Write model/, model_web/, model_android/ and model_ios/ of a succeeded run into a folder."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run_id", type=int)
        parser.add_argument("--out", required=True, type=Path, help="Folder to write the model folders into.")

    def handle(self, *args: Any, **options: Any) -> None:
        run = Run.objects.select_related("project").filter(pk=options["run_id"]).first()
        if run is None:
            raise CommandError(f"No run {options['run_id']}.")
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"Run {run.pk} has {run.status}; only succeeded runs have models.")
        try:
            folders = extract_models(run, project_bucket(run.project), options["out"])
        except (BucketError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        if len(folders) != len(MODEL_NAMES):
            raise CommandError(f"Run {run.pk} has {len(folders)} of {len(MODEL_NAMES)} model folders.")
        for folder in folders:
            self.stdout.write(str(folder))
