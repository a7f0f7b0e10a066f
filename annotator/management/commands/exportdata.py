"""`manage.py exportdata PROJECT_ID --format FORMAT --out PATH [--split 0.8]`: a project as a zip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotator.datasets.errors import DatasetError
from annotator.datasets.exporting import EXPORT_FORMATS, export_dataset
from annotator.management.progress import ProgressBar
from annotator.models import Project


class Command(BaseCommand):
    help = "Export a project with its images as a zip; --split is the training share of a TFRecord export."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project_id", type=int)
        parser.add_argument("--format", choices=EXPORT_FORMATS, required=True)
        parser.add_argument("--out", type=Path, required=True, help="The zip file to write.")
        parser.add_argument("--split", type=float, default=0.8, help="Share of images for training (TFRecord).")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(pk=options["project_id"]).first()
        if project is None:
            raise CommandError(f"No project {options['project_id']}.")
        out: Path = options["out"]
        if out.is_dir():
            raise CommandError(f"{out} is a folder; give the path of the zip file to write.")
        bar = ProgressBar(self.stderr)
        try:
            summary = export_dataset(project, options["format"], out, split=options["split"], progress=bar)
        except DatasetError as error:
            raise CommandError(f"Export failed: {error.message} [{error.code}]") from None
        finally:
            bar.close()
        self.stdout.write(json.dumps({"out": str(out), **summary}, indent=1))
