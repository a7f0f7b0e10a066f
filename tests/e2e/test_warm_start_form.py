"""The Train form in Chromium offers the newest compatible run to start from, pre-selected, with
its architecture and shorter schedule in the settings; "ImageNet" restores the from-scratch
defaults; the run started names its base run. The run page says what a warm start reused."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.helpers import in_thread, make_project
from tests.factories import UserFactory
from training.hyperparameters import validated
from training.models import Artifact, Run, RunStatus

pytestmark = pytest.mark.e2e


def _succeeded_detector(project, owner) -> Run:
    run = Run.objects.create(
        project=project, kind="detection", created_by=owner, status=RunStatus.SUCCEEDED,
        hyperparameters=validated("detection", {"input_size": 256}), metrics={"labels": ["cat", "dog"], "map": 0.812},
    )  # fmt: skip
    Artifact.objects.create(run=run, name="checkpoint", key=f"{run.prefix}/checkpoint.weights.h5", size_bytes=1,
                            sha256="0" * 64, content_type="application/x-hdf5")  # fmt: skip
    return run


def test_the_form_starts_from_the_newest_compatible_run_by_default(login, server):
    owner = UserFactory()
    project = make_project(owner, type="localization")
    base = in_thread(_succeeded_detector, project, owner)
    page = login(owner)
    page.goto(server + reverse("training:run-list", args=[project.pk]))

    start = page.locator("#train-base-run")
    expect(start).to_have_value(str(base.pk))
    expect(start.locator("option").first).to_contain_text(f"run #{base.pk}")
    expect(start.locator("option").first).to_contain_text("mAP@0.5 0.812")
    expect(page.locator("#setting-epochs")).to_have_value("40")  # half the from-ImageNet default
    expect(page.locator("#setting-input_size")).to_have_value("256")  # the base run's architecture

    start.select_option("none")
    expect(page.locator("#setting-epochs")).to_have_value("80")
    expect(page.locator("#setting-input_size")).to_have_value("320")
    start.select_option(str(base.pk))
    expect(page.locator("#setting-epochs")).to_have_value("40")

    # What Train sends (answered here: three images cannot pass the pre-flight check).
    sent: list[dict] = []

    def capture(route):
        sent.append(json.loads(route.request.post_data))
        route.fulfill(status=400, content_type="application/json",
                      body=json.dumps({"error": {"code": "invalid", "message": "captured"}}))  # fmt: skip

    page.route(
        "**/api/v1/projects/*/runs/",
        lambda route: capture(route) if route.request.method == "POST" else route.continue_(),
    )
    page.evaluate("document.querySelector('#train-form').requestSubmit()")  # the check keeps the button disabled
    expect(page.locator("#train-status")).to_have_text("captured")
    assert sent[0]["base_run"] == base.pk and sent[0]["hyperparameters"]["epochs"] == 40

    # Switching kind offers that kind's runs: a classifier has none yet, so it starts from ImageNet.
    page.locator("#train-kind").select_option("classification")
    expect(start).to_have_value("none")
    expect(start.locator("option")).to_have_count(1)


def test_the_run_page_says_what_a_warm_start_reused(login, server):
    owner = UserFactory()
    project = make_project(owner, type="localization")
    base = in_thread(_succeeded_detector, project, owner)
    record = {"base_run": base.pk, "reused_labels": ["cat"], "new_labels": ["bird"], "dropped_labels": ["dog"],
              "mapping": [None, 0]}  # fmt: skip
    run = in_thread(Run.objects.create, project=project, kind="detection", created_by=owner, base_run=base,
                    metrics={"warm_start": record})  # fmt: skip
    page = login(owner)
    page.goto(server + reverse("training:run-detail", args=[project.pk, run.pk]))
    expect(page.locator("#warm-start")).to_have_text(
        f"Started from run #{base.pk}: reused 1 label, 1 new (bird), 1 dropped (dog)."
    )
    expect(page.locator("#warm-start a")).to_have_attribute(
        "href", reverse("training:run-detail", args=[project.pk, base.pk])
    )
