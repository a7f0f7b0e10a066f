"""The training pages in Chromium: the Train form follows the chosen kind (its defaults, and the
settings only one kind has); the run page draws its learning curves, per-class bars,
precision-recall curves and confusion heat map (Chart.js under our CSP), and follows a live run:
status badge, progress (never past its total) and curves.

Live updates come as a worker sends them: the row is written and `job.progress` broadcast. With a
shared channel layer (Redis) the event reaches the page by websocket; without one the page's poll
of the API brings the same state, so each wait allows for one poll."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from annotator import jobs
from annotator.events import broadcast
from tests.e2e.helpers import in_thread, make_project
from tests.factories import UserFactory
from training.models import Run, RunStatus

pytestmark = pytest.mark.e2e
POLL_WAIT_MS = 15_000  # the page polls every 10 s while its websocket is open

LABELS = ["ace", "king"]
DETECTOR_METRICS = {
    "labels": LABELS,
    "map": 0.75,
    "ap_per_class": {"ace": 0.9, "king": 0.6},
    "pr_curves": {
        "ace": {"precision": [1.0, 1.0, 0.9, 0.8], "recall": [0.0, 0.5, 0.8, 1.0]},
        "king": {"precision": [1.0, 0.7, 0.5, 0.4], "recall": [0.0, 0.3, 0.6, 0.8]},
    },
    "best": {"step": 40, "epoch": 4, "value": 0.75, "metric": "map50"},
    "stopped_early": False,
    "validation_samples": 6,
}
CLASSIFIER_METRICS = {
    "labels": LABELS,
    "accuracy": 0.8,
    "confusion_matrix": [[4, 1], [1, 4]],
    "per_class_accuracy": {"ace": 0.8, "king": 0.8},
    "ap_per_class": {"ace": 0.85, "king": 0.82},
    "pr_curves": {
        "ace": {"precision": [1.0, 0.9, 0.8], "recall": [0.0, 0.6, 1.0]},
        "king": {"precision": [1.0, 0.85, 0.75], "recall": [0.0, 0.5, 1.0]},
    },
    "validation_samples": 10,
}


def create_run(project, owner, kind: str, **fields) -> Run:
    return in_thread(Run.objects.create, project=project, kind=kind, created_by=owner, **fields)


def painted(page, selector: str) -> bool:
    """Whether anything was drawn on the canvas (any pixel not transparent)."""
    return page.evaluate(
        """(selector) => {
            const canvas = document.querySelector(selector);
            const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) return true;
            return false;
        }""",
        selector,
    )


def test_the_form_loads_the_defaults_of_the_chosen_kind(login, server):
    owner = UserFactory()
    project = make_project(owner, type="localization")
    page = login(owner)
    page.goto(server + reverse("training:run-list", args=[project.pk]))
    epochs, fine_tune = page.locator("#setting-epochs"), page.locator('[data-setting="fine_tune_epochs"]')
    expect(epochs).to_have_value("80")  # the detector's
    expect(page.locator("#setting-input_size")).to_have_value("320")
    expect(fine_tune).to_be_hidden()  # detectors have no fine-tuning phase
    box_classifier = page.locator('[data-setting="box_classifier"]')
    expect(box_classifier).to_be_visible()  # only detectors train one, on by default
    expect(page.locator("#setting-box_classifier")).to_be_checked()
    expect(page.locator("#help-epochs")).to_contain_text("Passes over the training images")
    assert page.locator("#setting-epochs").get_attribute("aria-describedby") == "help-epochs"

    epochs.fill("7")
    page.select_option("#train-kind", "classification")
    expect(epochs).to_have_value("40")
    expect(page.locator("#setting-input_size")).to_have_value("288")
    expect(fine_tune).to_be_visible()
    expect(page.locator("#setting-fine_tune_epochs")).to_have_value("60")
    expect(page.locator("#help-fine_tune_epochs")).to_contain_text("Classifier only")
    expect(box_classifier).to_be_hidden()

    page.select_option("#train-kind", "detection")
    expect(epochs).to_have_value("80")
    expect(fine_tune).to_be_hidden()
    expect(box_classifier).to_be_visible()
    assert page.errors == []


def test_a_finished_detector_run_draws_its_charts(login, server):
    owner = UserFactory()
    project = make_project(owner, type="localization", labels=LABELS)
    run = create_run(
        project, owner, "detection", status=RunStatus.SUCCEEDED, metrics=DETECTOR_METRICS,
        loss_curve=[[step, 2.0 / step] for step in range(1, 61)], eval_curve=[[20, 0.5], [40, 0.75], [60, 0.7]],
        progress={"phase": "done", "step": 60, "total_steps": 60},
    )  # fmt: skip
    page = login(owner)
    page.goto(server + reverse("training:run-detail", args=[project.pk, run.pk]))
    summary = page.locator("#curve-summary")
    expect(summary).to_contain_text("Loss 0.0333 at step 60")
    expect(summary).to_contain_text("Validation mAP@0.5 0.700 at step 60; best 0.750 at step 40")
    assert "best 0.750 at step 40" in page.locator("#curve-chart").get_attribute("aria-label")
    for chart in ("#curve-chart", "#per-class-chart", "#pr-chart"):
        assert painted(page, chart), chart
    rows = page.locator("#per-class-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_text(re.compile(r"ace\s*0\.900"))
    expect(page.locator("#eval-table tbody tr")).to_have_count(3)
    expect(page.locator("#progress-text")).to_contain_text("step 60 of 60")
    assert page.errors == []  # no uncaught error, no Content-Security-Policy violation


def test_a_classifier_run_shades_its_confusion_matrix(login, server):
    owner = UserFactory()
    project = make_project(owner, type="classification", labels=LABELS)
    run = create_run(project, owner, "classification", status=RunStatus.SUCCEEDED, metrics=CLASSIFIER_METRICS)
    page = login(owner)
    page.goto(server + reverse("training:run-detail", args=[project.pk, run.pk]))
    diagonal = page.locator("table.heat-map tbody tr").nth(0).locator("td").nth(0)
    off = page.locator("table.heat-map tbody tr").nth(0).locator("td").nth(1)
    expect(diagonal).to_have_attribute("title", "80 % of this row")
    assert diagonal.evaluate("td => td.style.backgroundColor") == "rgba(37, 99, 235, 0.72)"
    assert off.evaluate("td => td.style.backgroundColor") == "rgba(37, 99, 235, 0.18)"
    expect(page.locator("#per-class-table thead")).to_have_text(re.compile(r"class\s*AP\s*accuracy"))
    assert painted(page, "#per-class-chart") and painted(page, "#pr-chart")
    assert page.errors == []


def report(run: Run, status: str, progress: dict, loss_curve: list, eval_curve: list, eval_point=None) -> None:
    """What training.progress.Reporter does: write the row, then broadcast a training tick."""
    Run.objects.filter(pk=run.pk).update(status=status, progress=progress, loss_curve=loss_curve, eval_curve=eval_curve)
    payload = {"kind": "run", "id": run.pk, "status": status, "progress": progress, "point": loss_curve[-1],
               "eval_point": eval_point}  # fmt: skip
    broadcast(run.project_id, "job.progress", payload)


def test_a_live_run_updates_status_progress_and_curves(login, server):
    owner = UserFactory()
    project = make_project(owner, type="localization", labels=LABELS)
    run = create_run(project, owner, "detection", status=RunStatus.QUEUED)
    page = login(owner)
    page.goto(server + reverse("training:run-detail", args=[project.pk, run.pk]))
    badge = page.locator("#run-status")
    expect(badge).to_have_text("Queued")
    expect(page.locator("#curve-summary")).to_have_text("The curves appear once training reports steps.")
    blank = page.locator("#curve-chart").screenshot()

    progress = {"phase": "training", "step": 50, "total_steps": 100, "loss": 0.5, "eta_seconds": 30,
                "val_metric": 0.4}  # fmt: skip
    in_thread(report, run, "running", progress, [[10, 1.5], [50, 0.5]], [[50, 0.4]], eval_point=[50, 0.4])
    expect(badge).to_have_text("Running", timeout=POLL_WAIT_MS)
    expect(badge).to_have_class(re.compile("status-running"))
    text = page.locator("#progress-text")
    expect(text).to_contain_text("step 50 of 100", timeout=POLL_WAIT_MS)
    expect(text).to_contain_text("30 s left")
    expect(page.locator("#curve-summary")).to_contain_text("Loss 0.5000 at step 50", timeout=POLL_WAIT_MS)
    expect(page.locator("#curve-summary")).to_contain_text("best 0.400 at step 50")
    assert page.locator("#curve-chart").screenshot() != blank

    # The last epoch of a phase can overrun its estimated total: the page never shows more than 100 %.
    progress = {**progress, "step": 103, "eta_seconds": 1}
    in_thread(report, run, "running", progress, [[10, 1.5], [50, 0.5], [103, 0.3]], [[50, 0.4]])
    expect(text).to_contain_text("step 100 of 100", timeout=POLL_WAIT_MS)
    assert page.locator("#progress-bar").evaluate("bar => bar.style.width") == "100%"
    expect(page.locator(".progress")).to_have_attribute("aria-valuenow", "100")

    in_thread(_finish, run)
    expect(badge).to_have_text("Failed", timeout=POLL_WAIT_MS)  # the page reloads once the run ends
    expect(page.locator(".run-error")).to_have_text("The worker stopped.")
    assert page.errors == []


def _finish(run: Run) -> None:
    Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, error="The worker stopped.")
    jobs.publish(Run.objects.get(pk=run.pk))
