"""`manage.py importdata PROJECT_ID PATH [--format F] [--skip-invalid] [--json]`: a dataset into a project.

PATH is a folder or a .zip in any importable format (docs/datasets.md). The import is
all or nothing unless --skip-invalid; --json prints a summary (or the error) as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotator.datasets.errors import DatasetError
from annotator.datasets.importing import IMPORT_FORMATS, import_dataset
from annotator.datasets.report import ImportReport
from annotator.management.progress import ProgressBar
from annotator.models import Project


class Command(BaseCommand):
    help = "Import a dataset folder or zip (VOC, COCO, YOLO, Cloud Annotations, Create ML, CSV, class folders)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project_id", type=int)
        parser.add_argument("path", type=Path)
        parser.add_argument("--format", choices=IMPORT_FORMATS, default="auto")
        parser.add_argument("--skip-invalid", action="store_true", help="Leave bad records out and list them.")
        parser.add_argument("--json", action="store_true", help="Print a JSON summary instead of text.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(pk=options["project_id"]).first()
        if project is None:
            raise CommandError(f"No project {options['project_id']}.")
        bar = ProgressBar(self.stderr)
        try:
            report = import_dataset(project, options["path"], options["format"], options["skip_invalid"], progress=bar)
        except DatasetError as error:
            bar.close()
            if options["json"]:
                self.stdout.write(json.dumps({"ok": False, "error": error.as_dict()}, indent=1))
            raise CommandError(_describe(error)) from None
        bar.close()
        if options["json"]:
            self.stdout.write(json.dumps({"ok": True, **summary(report)}, indent=1))
        else:
            self.stdout.write(_text(report))


def summary(report: ImportReport) -> dict[str, Any]:
    """The --json shape: counts of images, boxes and labels, and every record left out."""
    data = report.to_dict()
    data["errors"] = data.pop("skipped")
    return data


def _text(report: ImportReport) -> str:
    lines = [
        f"Imported {report.images} images ({report.format}): {report.created} new, {report.matched} already here, "
        f"{report.renamed} renamed; {report.boxes} boxes on {report.annotated} images; {report.labels} labels "
        f"({len(report.labels_created)} new).",
    ]
    if report.kept:
        lines.append(f"{report.kept} images were already annotated in the project; their annotations were kept.")
    if report.skipped:
        lines.append(f"Skipped {len(report.skipped)} invalid records:")
        lines += [f"  {_where(error)}{error['message']} [{error['code']}]" for error in report.skipped]
    return "\n".join(lines)


def _where(error: dict[str, Any]) -> str:
    parts = [str(error[name]) for name in ("file", "line") if error.get(name) is not None]
    where = ":".join(parts) + (f" {error['field']}" if error.get("field") else "")
    return f"{where}: " if where else ""


def _describe(error: DatasetError) -> str:
    return f"Import failed, nothing was imported: {error.message} [{error.code}]"
