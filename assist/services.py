"""Model-assisted labelling's rules, in one place: which run assists, what a prediction or an
auto-label covers, rejecting suggestions, and what the run page counts.

Invariants:

- The assist run of a project is its pinned run while that run is a succeeded run of the
  project's kind; otherwise the newest succeeded run of that kind (`assist_run`). Pinning checks
  the same conditions, so a pin can only go stale (its run deleted), never be wrong when set.
- `Image.uncertainty` is the assist run's latest uncertainty on the image (None: never predicted).
  Prediction jobs write it only for the run that assists when they write; pinning or unpinning
  re-reads it from the new assist run's `Prediction` rows. A newly succeeded run takes over image
  by image, as it predicts them.
- At most one person-started prediction per project is active (`prediction_running`), checked
  under a lock on the project row; auto-suggest keeps at most one queued auto job per project,
  which predicts every image still unpredicted when it starts.
- Nothing here writes annotations: auto-label jobs do, through `save_annotations` (autolabel.py).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from datetime import timedelta
from typing import Any, Final

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone

from accounts.models import User
from annotator import jobs
from annotator.events import broadcast
from annotator.formats.checks import shown
from annotator.models import Box, Image, ImageStatus, Label, Project
from annotator.models.jobs import ACTIVE_JOB_STATUSES, JobStatus
from assist import autolabel
from assist.errors import (
    InvalidScope,
    InvalidThreshold,
    JobFinished,
    ModelMissing,
    NoAssistModel,
    PredictionRunning,
    RunNotFound,
    RunNotSucceeded,
    WrongKind,
)
from assist.models import (
    SUGGESTIONS_CHANGED,
    AssistSettings,
    AutoLabelJob,
    Prediction,
    PredictionJob,
    PredictionScope,
    Suggestion,
    SuggestionStatus,
)
from training.models import Run, RunStatus
from training.preflight import default_kind

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD: Final = 0.5
MODEL_ARTIFACTS: Final = ("model_android", "model")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


# --- The assist run ---------------------------------------------------------------------------


def _succeeded_runs(project: Project) -> QuerySet[Run]:
    return Run.objects.filter(project=project, kind=default_kind(project), status=RunStatus.SUCCEEDED)


def assist_run(project: Project) -> Run | None:
    """The pinned run if it still may assist, else the newest succeeded run of the project's kind."""
    pinned = AssistSettings.objects.filter(project=project).values_list("pinned_run", flat=True).first()
    if pinned is not None and (run := _succeeded_runs(project).filter(pk=pinned).first()) is not None:
        return run
    # "Newest" as for the latest-model URL (training.artifacts.latest_model): the run started last.
    return _succeeded_runs(project).order_by("-id").first()


def required_run(project: Project) -> Run:
    run = assist_run(project)
    if run is None:
        raise NoAssistModel(
            f"This project has no succeeded {default_kind(project)} run to suggest labels with; train one first."
        )
    return run


def suggestion_threshold(run: Run) -> float:
    """The score that maximised F1 on the run's validation split; 0.5 for runs measured before it was."""
    value = (run.metrics.get("suggestion_threshold") or {}).get("score")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0:
        return float(value)
    return DEFAULT_THRESHOLD


def validate_threshold(value: object) -> float:
    """A threshold from a request (a number, or a query string's text), within 0..1."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidThreshold(f"The threshold must be a number from 0 to 1, not {shown(value)}.") from None
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise InvalidThreshold(f"The threshold must lie from 0 to 1; {shown(value)} does not.")
    return number


def _run_summary(run: Run) -> dict[str, Any]:
    shown = run.shown_metrics
    subset = {name: shown[name] for name in (run.metric_name, "suggestion_threshold") if name in shown}
    return {
        "id": run.pk,
        "kind": run.kind,
        "created_at": run.created_at,
        "metric_name": run.metric_label,
        "score": run.score,
        "metrics": subset,
        "url": run.urls["page"],
    }


def assist_state(project: Project) -> dict[str, Any]:
    """What the project page shows about assistance (GET projects/{id}/assist/), ready to send as
    JSON; `active_prediction` is the newest queued or running prediction as its job serializer shows it."""
    run = follow_assist_run(project)
    active = PredictionJob.objects.filter(project=project, status__in=ACTIVE_JOB_STATUSES).first()
    settings = AssistSettings.objects.filter(project=project).first()
    present = Image.objects.present().filter(project=project)
    predicted = pending = 0
    if run is not None:
        predicted = present.filter(Exists(Prediction.objects.filter(image=OuterRef("pk"), run=run))).count()
        pending = Suggestion.objects.filter(run=run, image__in=present, status=SuggestionStatus.PENDING).count()
    return {
        "run": _run_summary(run) if run else None,
        "pinned": bool(run and settings and settings.pinned_run_id == run.pk),
        "auto_suggest": bool(settings and settings.auto_suggest),
        "threshold": suggestion_threshold(run) if run else DEFAULT_THRESHOLD,
        "counts": {
            "predicted": predicted,
            "unpredicted": present.count() - predicted,
            "pending_suggestions": pending,
            "auto_labelled": present.filter(auto_labelled=True).count(),
        },
        "active_prediction": {"kind": active.job_kind, **active.event_payload()} if active else None,
    }


def _pinnable(project: Project, run_id: int) -> Run:
    run = Run.objects.filter(project=project, pk=run_id).first()
    if run is None:
        raise RunNotFound(f"This project has no run {run_id}.")
    if run.kind != default_kind(project):
        raise WrongKind(f"Run {run.pk} trained a {run.kind} model; this project needs a {default_kind(project)} model.")
    if run.status != RunStatus.SUCCEEDED:
        raise RunNotSucceeded(f"Run {run.pk} {run.status}; only a succeeded run can suggest labels.")
    return run


def update_settings(
    project: Project,
    user: User | None,
    *,
    pinned_run: int | _Unset | None = UNSET,
    auto_suggest: bool | _Unset = UNSET,
) -> AssistSettings:
    """Pin a run (None: follow the newest) and switch auto-suggest; unset arguments stay as they are."""
    with transaction.atomic():
        settings, _ = AssistSettings.objects.select_for_update().get_or_create(project=project)
        before = assist_run(project)
        if not isinstance(pinned_run, _Unset):
            settings.pinned_run = None if pinned_run is None else _pinnable(project, pinned_run)
        if not isinstance(auto_suggest, _Unset):
            settings.auto_suggest = bool(auto_suggest)
        settings.updated_by = user
        settings.save()
        after = assist_run(project)
        if after != before:
            refresh_uncertainty(project, after)
    return settings


def refresh_uncertainty(project: Project, run: Run | None) -> None:
    """Make every image's `uncertainty` the given run's (None where it has not predicted the image)."""
    with transaction.atomic():
        AssistSettings.objects.get_or_create(project=project)
        settings = AssistSettings.objects.select_for_update().get(project=project)
        of_run = Prediction.objects.filter(image=OuterRef("pk"), run=run).values("uncertainty")[:1]
        Image.objects.filter(project=project).update(uncertainty=Subquery(of_run) if run else None)
        settings.uncertainty_run = run
        settings.save(update_fields=["uncertainty_run"])


def follow_assist_run(project: Project) -> Run | None:
    """The assist run, with `Image.uncertainty` re-pointed to it first if it changed since (a newer run
    succeeded): the uncertain order never mixes two models' figures. Cheap when nothing changed."""
    run = assist_run(project)
    holder = AssistSettings.objects.filter(project=project).values_list("uncertainty_run", flat=True).first()
    if (run.pk if run else None) != holder and (run is not None or holder is not None):
        refresh_uncertainty(project, run)
    return run


def uncertain_first(images: QuerySet[Image]) -> QuerySet[Image]:
    """The image list's `order=uncertain`: predicted images only, the most uncertain first, then by key."""
    return images.filter(uncertainty__isnull=False).order_by("-uncertainty", "key")


# --- Prediction jobs --------------------------------------------------------------------------


def _require_model(run: Run) -> None:
    if not run.artifacts.filter(name__in=MODEL_ARTIFACTS).exists():
        raise ModelMissing(f"Run {run.pk} offers no model/ or model_android/ to predict with; train a new run.")


def _filters(project: Project, scope: str, status: list[str] | None, label: int | None, image_ids: list[int] | None):
    if scope not in PredictionScope.values:
        raise InvalidScope(f"Unknown scope {scope!r}; use one of {', '.join(PredictionScope.values)}.")
    if scope == PredictionScope.FILTER:
        unknown = sorted(set(status or []) - set(ImageStatus.values))
        if unknown:
            raise InvalidScope(f"Unknown image statuses {unknown}; use {', '.join(ImageStatus.values)}.")
        if label is not None and not Label.objects.filter(project=project, pk=label).exists():
            raise InvalidScope(f"This project has no label {label}.")
        return {"status": list(status or []), "label": label}
    if scope == PredictionScope.IMAGES:
        ids = sorted(set(image_ids or []))
        if not ids:
            raise InvalidScope("Scope 'images' needs the ids of the images to predict.")
        found = set(Image.objects.filter(project=project, pk__in=ids).values_list("pk", flat=True))
        if missing := [i for i in ids if i not in found]:
            raise InvalidScope(f"This project has no images {missing[:10]}.")
        return {"ids": ids}
    return {}


def scope_images(job: PredictionJob) -> QuerySet[Image]:
    """The present images a prediction job covers, as they are when it asks (the worker asks once)."""
    images = Image.objects.present().filter(project_id=job.project_id)
    match job.scope:
        case PredictionScope.UNLABELLED:
            images = images.filter(status=ImageStatus.UNLABELLED, negative=False)
        case PredictionScope.UNPREDICTED:
            images = images.exclude(Exists(Prediction.objects.filter(image=OuterRef("pk"), run_id=job.run_id)))
        case PredictionScope.FILTER:
            if job.filters.get("status"):
                images = images.filter(status__in=job.filters["status"])
            if job.filters.get("label") is not None:
                as_class = job.run.kind == "classification"
                images = images.carrying_label(job.filters["label"], as_class=as_class)
        case PredictionScope.IMAGES:
            images = images.filter(pk__in=job.filters.get("ids", []))
    return images.order_by("key")


def start_prediction(
    project: Project,
    user: User | None,
    *,
    scope: str,
    status: list[str] | None = None,
    label: int | None = None,
    image_ids: list[int] | None = None,
) -> PredictionJob:
    """Queue a prediction of `scope` with the assist run, once the transaction commits."""
    filters = _filters(project, scope, status, label, image_ids)
    run = required_run(project)
    _require_model(run)
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()  # one person-started job at a time
        running = PredictionJob.objects.filter(project=project, auto=False, status__in=ACTIVE_JOB_STATUSES).first()
        if running is not None:
            raise PredictionRunning(
                f"Prediction {running.pk} is still {running.status}; wait for it or cancel it.", job=running.pk
            )
        job = PredictionJob.objects.create(project=project, run=run, scope=scope, filters=filters, created_by=user)
        jobs.publish(job)
        jobs.dispatch(job, "celery")
    return job


def cancel_prediction(job: PredictionJob) -> PredictionJob:
    """A queued job never starts; a running one stops before its next batch is written."""
    if not jobs.cancel(job):
        job.refresh_from_db()
        raise JobFinished(f"The prediction has already {job.status}; only queued or running ones can be cancelled.")
    return job


# A queued auto prediction this old no longer holds arrivals back: its message may have been lost
# (a broker restart), and a second job that finds nothing left to predict costs little.
AUTO_QUEUED_PATIENCE: Final = timedelta(minutes=10)


def suggest_arrivals(project_id: int, image_ids: list[int]) -> None:
    """With auto-suggest on, queue one auto prediction of the unpredicted images (images_added).

    Runs inside the transaction that adds the images, and must never fail it: an upload matters
    more than its suggestions. Errors are logged, in a savepoint that keeps the transaction usable.
    """
    try:
        with transaction.atomic():
            settings = AssistSettings.objects.filter(project_id=project_id, auto_suggest=True).first()
            if settings is None:
                return
            project = Project.objects.get(pk=project_id)
            run = assist_run(project)
            if run is None or not run.artifacts.filter(name__in=MODEL_ARTIFACTS).exists():
                return
            queued = PredictionJob.objects.filter(
                project_id=project_id, auto=True, status=JobStatus.QUEUED,
                created_at__gt=timezone.now() - AUTO_QUEUED_PATIENCE,
            )  # fmt: skip
            if queued.exists():
                return  # it will predict these images too: it lists the unpredicted ones when it starts
            job = PredictionJob.objects.create(project=project, run=run, scope=PredictionScope.UNPREDICTED, auto=True)
            jobs.publish(job)
            jobs.dispatch(job, "celery")
    except Exception:
        log.exception("Auto-suggest could not queue a prediction of %s new images of project %s", len(image_ids),
                      project_id)  # fmt: skip


# --- Suggestions on an image ------------------------------------------------------------------


def suggestions_for(image: Image, *, include_decided: bool = False) -> tuple[Run | None, float, list[Suggestion]]:
    """The assist run's suggestions on the image (pending ones, or all), best first, with its threshold."""
    run = assist_run(image.project)
    if run is None:
        return None, DEFAULT_THRESHOLD, []
    rows = Suggestion.objects.filter(image=image, run=run).select_related("label")
    if not include_decided:
        rows = rows.filter(status=SuggestionStatus.PENDING)
    return run, suggestion_threshold(run), list(rows.order_by("-score", "id"))


def reject(image: Image, user: User | None, *, ids: list[int] | None = None, everything: bool = False) -> int:
    """Pending suggestions on the image rejected: those listed, or with `everything` all the assist run's."""
    rows = Suggestion.objects.filter(image=image, status=SuggestionStatus.PENDING)
    if everything:
        run = assist_run(image.project)
        rows = rows.filter(run=run) if run else rows.none()
    else:
        rows = rows.filter(pk__in=ids or [])
    with transaction.atomic():
        runs = sorted(set(rows.values_list("run_id", flat=True)))
        rejected = rows.update(status=SuggestionStatus.REJECTED, decided_by=user, decided_at=timezone.now())
        for run_id in runs:
            broadcast(image.project_id, SUGGESTIONS_CHANGED, {"run": run_id, "images": [image.pk]})
    return rejected


# --- Bulk auto-label --------------------------------------------------------------------------


def preview_autolabel(project: Project, threshold: float) -> dict[str, Any]:
    """What an auto-label at `threshold` would write: images filled, and annotations per label name."""
    threshold = validate_threshold(threshold)
    run = required_run(project)
    per_label: Counter[str] = Counter()
    images = 0
    for _, chosen in autolabel.plan(project, run, threshold):
        images += 1
        per_label.update(s.label.name for s in chosen)
    return {"threshold": threshold, "images": images, "per_label": dict(sorted(per_label.items()))}


def start_autolabel(project: Project, user: User | None, threshold: float) -> AutoLabelJob:
    threshold = validate_threshold(threshold)
    run = required_run(project)
    with transaction.atomic():
        job = AutoLabelJob.objects.create(project=project, run=run, threshold=threshold, created_by=user)
        jobs.publish(job)
        jobs.dispatch(job, "celery")
    return job


# --- Is the model saving us work? -------------------------------------------------------------


def suggestion_stats(run: Run) -> dict[str, int]:
    """The run's suggestions by outcome, and the boxes people drew that no suggestion proposed.

    "added" counts, on images this run made suggestions for and a person saved last, the boxes
    whose uid is no suggestion's (classifiers: 0, a class is not drawn).
    """
    counts = dict(Suggestion.objects.filter(run=run).values_list("status").annotate(n=Count("id")))
    stats = {status: counts.get(status, 0) for status in SuggestionStatus.values}
    stats["added"] = 0
    if run.kind != "classification":
        suggested = Suggestion.objects.filter(run=run).values("image_id")
        proposed = Suggestion.objects.filter(image=OuterRef("image"), uid=OuterRef("uid"))
        stats["added"] = (
            Box.objects.filter(image__in=suggested, image__auto_labelled=False, image__annotated_at__isnull=False)
            .exclude(Exists(proposed))
            .count()
        )
    return stats
