"""`manage.py train PROJECT_ID`: start a run, optionally follow it to the end."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.exceptions import ValidationError

from accounts.models import User
from annotator import jobs
from annotator.models import Project
from training import base_runs, services
from training.api.serializers import ArtifactSerializer
from training.models import ACTIVE_STATUSES, Run, RunKind, RunStatus
from training.preflight import default_kind

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Start a training run for a project; with --wait, follow it and exit non-zero unless it succeeds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project_id", type=int)
        parser.add_argument("--kind", choices=RunKind.values, help="Defaults to the project's type.")
        length = parser.add_mutually_exclusive_group()
        length.add_argument("--steps", type=int, help="Train for this many optimiser steps.")
        length.add_argument("--epochs", type=int, help="Train for this many epochs.")
        parser.add_argument(
            "--set", action="append", default=[], metavar="NAME=VALUE",
            help="Any other hyper-parameter, as JSON values (e.g. --set input_size=96 --set augment=false).",
        )  # fmt: skip
        start = parser.add_mutually_exclusive_group()
        start.add_argument(
            "--base-run", type=int, metavar="RUN_ID",
            help="Warm-start from this earlier run's weights (default: the newest compatible succeeded run, if any).",
        )  # fmt: skip
        start.add_argument(
            "--from-imagenet", action="store_true", help="Start from the ImageNet backbone, not from an earlier run."
        )
        parser.add_argument("--user", help="E-mail of the person the run is recorded as started by.")
        parser.add_argument("--wait", action="store_true", help="Follow the run with a progress bar until it ends.")
        parser.add_argument("--json", action="store_true", help="Print the run (final metrics with --wait) as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(pk=options["project_id"]).first()
        if project is None:
            raise CommandError(f"No project {options['project_id']}.")
        user = User.objects.filter(email__iexact=options["user"]).first() if options["user"] else None
        if options["user"] and user is None:
            raise CommandError(f"No user {options['user']}.")
        kind = options["kind"] or default_kind(project)
        base_run_id = _base_run(project, kind, options)
        try:
            run = services.create_run(project, user, kind, _hyperparameters(options), base_run_id)
        except base_runs.BaseRunRefused as exc:
            raise CommandError(str(exc)) from None
        except services.PreflightFailed as exc:
            problems = "\n".join(f"  - {p.message}" for p in exc.preflight.errors)
            raise CommandError(f"The data is not ready for training:\n{problems}") from None
        except ValidationError as exc:
            raise CommandError(f"Invalid hyper-parameters: {json.dumps(exc.detail)}") from None
        start = f", starting from run {base_run_id}" if base_run_id else ", starting from ImageNet"
        (sys.stderr if options["json"] else self.stdout).write(f"Run {run.pk} queued ({kind}{start}).\n")
        if options["wait"]:
            run = self._follow(run)
        if options["json"]:
            self.stdout.write(json.dumps(_summary(run), indent=2))
        if run.status in (RunStatus.FAILED, RunStatus.CANCELLED):
            raise CommandError(f"Run {run.pk} {run.status}: {run.error or 'cancelled'}")

    def _follow(self, run: Run) -> Run:
        shown = ""
        while True:
            jobs.reap(kinds=[Run], project_id=run.project_id)
            run.refresh_from_db()
            line = _progress_line(run)
            if line != shown:
                sys.stderr.write("\r" + line.ljust(len(shown)))
                sys.stderr.flush()
                shown = line
            if run.status not in ACTIVE_STATUSES:
                sys.stderr.write("\n")
                return run
            time.sleep(1)


def _base_run(project: Project, kind: str, options: dict) -> int | None:
    """The run to warm-start from: the one named, none, or the newest one whose architecture
    fits the settings given (a run with another input size starts from ImageNet)."""
    if options["from_imagenet"]:
        return None
    if options["base_run"] is not None:
        return options["base_run"]
    given = _hyperparameters(options)
    for run in base_runs.offered(project, kind):
        if all(run.hyperparameters.get(name) == given[name] for name in base_runs.ARCHITECTURE if name in given):
            return run.pk
    return None


def _hyperparameters(options: dict) -> dict:
    values: dict[str, Any] = {}
    for item in options["set"]:
        name, sep, raw = item.partition("=")
        if not sep:
            raise CommandError(f"--set takes NAME=VALUE, got {item!r}.")
        try:
            values[name.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            values[name.strip()] = raw
    for name in ("steps", "epochs"):
        if options[name] is not None:
            values[name] = options[name]
    return values


def _progress_line(run: Run) -> str:
    progress = run.progress or {}
    total, step = progress.get("total_steps"), progress.get("step", 0)
    if run.status == RunStatus.QUEUED:
        return f"run {run.pk}: queued, waiting for a worker"
    if not total:
        return f"run {run.pk}: {run.status} ({progress.get('phase', '')})"
    done = int(BAR_WIDTH * step / total)
    loss = f" loss {progress['loss']:.4f}" if progress.get("loss") is not None else ""
    eta = f" ETA {progress['eta_seconds']:.0f} s" if progress.get("eta_seconds") is not None and run.is_active else ""
    phase = progress.get("phase", "")
    val = f" val {progress['val_metric']:.3f}" if progress.get("val_metric") is not None else ""
    bar = f"[{'#' * done}{'.' * (BAR_WIDTH - done)}]"
    return f"run {run.pk}: {bar} {step}/{total} {phase}{loss}{val}{eta} ({run.status})"


def _summary(run: Run) -> dict:
    artifacts = ArtifactSerializer(run.offered_artifacts.select_related("run"), many=True).data
    return {
        "id": run.pk,
        "status": run.status,
        "kind": run.kind,
        "error": run.error,
        "metrics": run.shown_metrics,
        "artifacts": [
            {k: a[k] for k in ("name", "size_bytes", "sha256", "verified", "verification_error")} for a in artifacts
        ],
    }
