"""Pages: a project's runs with the Train form, one run live, and runs side by side."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from rest_framework import serializers

from annotator import jobs
from annotator.access import project_page
from annotator.ids import parse_id
from annotator.models import Project, Role
from annotator.permissions import Action, role_allows
from training import base_runs
from training.hyperparameters import CLASSIFIER_ONLY, DETECTOR_ONLY, HyperParametersSerializer, validated
from training.models import Run, RunKind
from training.preflight import default_kind

MAX_COMPARED = 8


@project_page({"GET": Action.VIEW})
def run_list(request: HttpRequest, project: Project, role: Role) -> HttpResponse:
    jobs.reap(kinds=[Run], project_id=project.pk)
    base_id = request.GET.get("from", "")
    base = Run.objects.filter(project=project, pk=base_pk).first() if (base_pk := parse_id(base_id)) else None
    kind = base.kind if base else default_kind(project)
    context = {
        "project": project,
        "role": role,
        "runs": _with_shown_step(Run.objects.filter(project=project).select_related("created_by")[:200]),
        "can_train": role_allows(role, Action.TRAIN, project),
        "kind": kind,
        "kinds": RunKind.choices,
        "base": base,
        # Warm start: the newest compatible run is pre-selected, so the settings are its defaults.
        "base_runs": (offered := base_runs.offered(project, kind)),
        "params": (params := base.hyperparameters if base else validated(kind, {}, _base_params(offered))),
        "fields": form_fields(params),
    }
    return render(request, "training/run_list.html", context)


def _base_params(offered: list[Run]) -> dict | None:
    return offered[0].hyperparameters if offered else None


def _with_shown_step(runs) -> list[Run]:
    """A phase's last epoch may overrun its estimated total: the list never shows 1281 / 1241."""
    runs = list(runs)
    for run in runs:
        progress = run.progress or {}
        run.shown_step = min(progress.get("step") or 0, progress.get("total_steps") or 0)
    return runs


# Settings only one kind has (training.hyperparameters.validate refuses them for the other);
# the form hides them for the other kind.
ONLY_FOR = {
    **{name: RunKind.CLASSIFICATION.value for name in ("fine_tune_epochs", *CLASSIFIER_ONLY)},
    **{name: RunKind.DETECTION.value for name in DETECTOR_ONLY},
}


def form_fields(params: dict) -> list[dict]:
    """The Train form's inputs, from the hyper-parameters serializer: its labels, help texts and bounds
    are the ones the API validates with, so the form can never offer what the API refuses."""
    fields = []
    for name, field in HyperParametersSerializer().fields.items():
        spec = {"name": name, "label": field.label or name, "help": field.help_text or "", "value": params.get(name),
                "only": ONLY_FOR.get(name, "")}  # fmt: skip
        if isinstance(field, serializers.BooleanField):
            spec["type"] = "checkbox"
        elif isinstance(field, serializers.ChoiceField):
            spec.update(type="select", choices=list(field.choices))
        else:
            integer = isinstance(field, serializers.IntegerField)
            step = 32 if name == "input_size" else 1 if integer else "any"
            bounds = {"min": getattr(field, "min_value", None), "max": getattr(field, "max_value", None)}
            spec.update(type="number", **bounds, step=step, numeric="int" if integer else "float")
        fields.append(spec)
    return fields


@project_page({"GET": Action.VIEW})
def run_detail(request: HttpRequest, project: Project, role: Role, run_id: int) -> HttpResponse:
    jobs.reap(kinds=[Run], project_id=project.pk)
    run = get_object_or_404(Run.objects.filter(project=project).select_related("created_by"), pk=run_id)
    artifacts = list(run.offered_artifacts)
    context = {
        "project": project,
        "run": run,
        "can_train": role_allows(role, Action.TRAIN, project),
        "can_download": role_allows(role, Action.DOWNLOAD, project),
        "downloads": [a for a in artifacts if not a.name.startswith("prediction_")],
        "web_model_url": _web_model_url(run, artifacts),
        "predictions": [a for a in artifacts if a.name.startswith("prediction_")],
        "matrix": _confusion_rows(run.metrics),
        "metric_name": run.metric_label,
        **_per_class_rows(run.metrics),
    }
    return render(request, "training/run_detail.html", context)


def _web_model_url(run: Run, artifacts: list) -> str | None:
    """The folder URL the "Try it" panel loads model_web/ from (model.json and its shards)."""
    if not any(a.name == "model_web" for a in artifacts):
        return None
    return reverse("api:run-web-model", args=[run.project_id, run.pk, "model.json"]).removesuffix("model.json")


def _per_class_rows(metrics: dict) -> dict:
    """The per-class table under the bar chart: AP and/or accuracy of every label, in label order."""
    ap, accuracy = metrics.get("ap_per_class") or {}, metrics.get("per_class_accuracy") or {}
    labels = metrics.get("labels", [])
    rows = [{"label": label, "ap": ap.get(label), "accuracy": accuracy.get(label)} for label in labels]
    return {"per_class_rows": rows, "has_ap": bool(ap), "has_accuracy": bool(accuracy)}


def _confusion_rows(metrics: dict) -> list[tuple[str, list[int]]]:
    """(true label, counts per predicted label) for the template's table."""
    matrix = metrics.get("confusion_matrix") or []
    return list(zip(metrics.get("labels", []), matrix, strict=False))


@project_page({"GET": Action.VIEW})
def run_compare(request: HttpRequest, project: Project, role: Role) -> HttpResponse:
    ids = [pk for pk in map(parse_id, request.GET.getlist("run")) if pk is not None][:MAX_COMPARED]
    runs = list(Run.objects.filter(project=project, pk__in=ids).order_by("id"))
    if not runs:
        raise Http404("Pick the runs to compare on the runs page.")
    keys = sorted({key for run in runs for key in run.hyperparameters})
    rows = [(key, [run.hyperparameters.get(key) for run in runs]) for key in keys]
    labels = sorted({label for run in runs for label in _per_class(run)})
    per_class = [(label, [_per_class(run).get(label) for run in runs]) for label in labels]
    context = {"project": project, "runs": runs, "rows": rows, "per_class": per_class}
    return render(request, "training/run_compare.html", context)


def _per_class(run: Run) -> dict:
    return run.metrics.get("ap_per_class") or run.metrics.get("per_class_accuracy") or {}
