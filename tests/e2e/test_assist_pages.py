"""Model-assisted labelling on the pages around the editor: the project page's Assist panel (the
assist run, starting a prediction, bulk auto-label with its preview), the grid's "most uncertain
first" order and auto-labelled filter, the review queue's auto-labelled filter, and the run page's
Suggestions card.

No model runs here: runs, suggestions and uncertainties are rows written with the ORM, and the
jobs the pages start stay queued (no worker consumes the e2e server's broker); the real
prediction job is tested in tests/assist/.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from annotator.models import Image, Membership, Role
from annotator.services.annotations import AnnotationSet, BoxData, save_annotations
from assist.models import AssistSettings, AutoLabelJob, PredictionJob, Suggestion, SuggestionStatus
from tests.e2e.helpers import in_thread, make_project, wait_until
from tests.factories import UserFactory
from training.models import Artifact, Run, RunStatus

pytestmark = pytest.mark.e2e

METRICS = {
    "labels": ["cat", "dog"],
    "map50": 0.81,
    "suggestion_threshold": {"score": 0.4, "f1": 0.9, "precision": 0.92, "recall": 0.88},
}


def assist_run(project, owner, **fields) -> Run:
    """A succeeded detector with a SavedModel artifact row: enough to be the assist run and to predict."""
    fields = {"kind": "detection", "status": RunStatus.SUCCEEDED, "metrics": METRICS, **fields}
    run = in_thread(Run.objects.create, project=project, created_by=owner, **fields)
    in_thread(
        Artifact.objects.create, run=run, name="model", key=f"{run.prefix}/model.zip", size_bytes=1, sha256="0" * 64,
        content_type="application/zip",
    )  # fmt: skip
    return run


def suggest(image, run, label, score: float, **fields) -> Suggestion:
    box = {"x": 0.1, "y": 0.1, "x2": 0.5, "y2": 0.5}
    return Suggestion.objects.create(image=image, run=run, label=label, score=score, **box, **fields)


def open_project(page, server: str, project, query: str = "") -> None:
    page.goto(f"{server}/projects/{project.pk}/{query}")
    expect(page.locator("#filters [data-count=all]")).to_have_text(re.compile(r"^\d+$"))  # counts loaded


def open_assist(page) -> None:
    page.locator("#assist-panel summary").click()
    expect(page.locator("#assist-summary")).not_to_be_empty()


def test_the_panel_shows_the_assist_run_and_starts_a_prediction(login, server):
    owner = UserFactory()
    project = make_project(owner, images=3)
    old = assist_run(project, owner, metrics={**METRICS, "map50": 0.5})
    run = assist_run(project, owner)
    cat = project.labels.get(name="cat")
    suggest(project.images.get(key="img-00.png"), run, cat, 0.9)
    page = login(owner)
    open_project(page, server, project)
    open_assist(page)

    model = page.locator("#assist-model")
    expect(model).to_contain_text(f"run #{run.pk}")
    expect(model).to_contain_text("mAP@0.5 0.810")
    expect(model).to_contain_text("default threshold 0.40")
    expect(model).to_contain_text("the latest succeeded run")
    expect(page.locator("#assist-run-link")).to_have_attribute("href", f"/projects/{project.pk}/runs/{run.pk}/")
    expect(page.locator("#assist-counts [data-assist-count=pending_suggestions]")).to_have_text("1")
    expect(page.locator("#assist-counts [data-assist-count=unpredicted]")).to_have_text("3")

    page.get_by_role("button", name="Predict unlabelled images").click()
    expect(page.locator("#assist-jobs li")).to_have_count(1)
    expect(page.locator("#assist-jobs li").first).to_contain_text("Prediction queued")
    job = PredictionJob.objects.get(project=project)
    assert (job.scope, job.run_id, job.auto, job.created_by) == ("unlabelled", run.pk, False, owner)
    expect(page.get_by_role("button", name="Predict all images")).to_be_disabled()  # one at a time

    # Pinning the older run makes it the assist model; "latest" follows the newest again.
    page.locator("#assist-pin").select_option(str(old.pk))
    expect(model).to_contain_text(f"run #{old.pk}")
    expect(model).to_contain_text("pinned")
    assert AssistSettings.objects.get(project=project).pinned_run_id == old.pk
    page.locator("#assist-pin").select_option("")
    expect(model).to_contain_text(f"run #{run.pk}")

    page.get_by_label("Auto-suggest: predict images as they arrive").check()
    wait_until(page, lambda: AssistSettings.objects.get(project=project).auto_suggest, message="auto-suggest saved")
    assert not page.errors


def test_without_a_succeeded_run_the_panel_says_how_to_get_one_and_viewers_see_no_controls(login, server):
    owner, viewer = UserFactory(), UserFactory()
    project = make_project(owner, images=1)
    Membership.objects.create(project=project, user=viewer, role=Role.VIEWER)
    page = login(owner)
    open_project(page, server, project)
    open_assist(page)
    expect(page.locator("#assist-model")).to_contain_text("No assist model yet")
    expect(page.locator("#assist-model").get_by_role("link", name="Training")).to_be_visible()
    expect(page.locator("#assist-controls")).to_be_hidden()

    run = assist_run(project, owner)
    page = login(viewer)
    open_project(page, server, project)
    open_assist(page)
    expect(page.locator("#assist-model")).to_contain_text(f"run #{run.pk}")
    expect(page.locator("#assist-counts")).to_be_visible()
    assert page.locator("#assist-controls, #autolabel-form, #assist-pin").count() == 0
    assert not page.errors


def test_auto_label_previews_per_label_counts_then_starts_a_job(login, server):
    owner = UserFactory()
    project = make_project(owner, images=4)
    run = assist_run(project, owner)
    cat, dog = project.labels.get(name="cat"), project.labels.get(name="dog")
    images = {image.key: image for image in project.images.all()}
    suggest(images["img-00.png"], run, cat, 0.9)
    suggest(images["img-00.png"], run, dog, 0.7)
    suggest(images["img-01.png"], run, cat, 0.6)
    suggest(images["img-02.png"], run, dog, 0.3)  # under the threshold
    # An annotated image is never auto-labelled, whatever its suggestions.
    suggest(images["img-03.png"], run, cat, 0.95)
    boxes = [BoxData(cat.pk, 0.2, 0.2, 0.6, 0.6)]
    in_thread(save_annotations, images["img-03.png"], AnnotationSet(boxes, [], False), base_version=0, user=owner)

    page = login(owner)
    open_project(page, server, project)
    open_assist(page)
    threshold = page.get_by_label("Minimum score")
    expect(threshold).to_have_value("0.40")  # the run's best-F1 threshold
    threshold.fill("0.5")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#autolabel-preview-images")).to_have_text("2 images would be labelled at ≥ 0.50.")
    expect(page.locator("#autolabel-preview-labels")).to_have_text("boxes per label: cat 2 · dog 1")

    threshold.fill("0.8")  # a preview holds for its threshold only
    expect(page.locator("#autolabel-start")).to_be_hidden()
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#autolabel-preview-images")).to_have_text("1 image would be labelled at ≥ 0.80.")
    page.get_by_role("button", name="Auto-label 1 image").click()
    expect(page.locator("#autolabel-jobs li")).to_have_count(1)
    expect(page.locator("#autolabel-jobs li").first).to_contain_text("queued")
    job = AutoLabelJob.objects.get(project=project)
    assert (job.threshold, job.run_id, job.created_by) == (0.8, run.pk, owner)

    threshold.fill("1.5")  # the browser refuses it before the API would (invalid_threshold)
    page.get_by_role("button", name="Preview").click()
    assert threshold.evaluate("(input) => input.validity.rangeOverflow")
    expect(page.locator("#autolabel-preview")).to_be_empty()
    assert not page.errors


def test_the_grid_orders_most_uncertain_first_and_filters_auto_labelled_images(login, server):
    owner = UserFactory()
    project = make_project(owner, images=5)
    for key, uncertainty in {"img-00.png": 0.2, "img-01.png": 0.9, "img-02.png": 0.5, "img-03.png": 0.9}.items():
        Image.objects.filter(project=project, key=key).update(uncertainty=uncertainty)
    Image.objects.filter(project=project, key="img-04.png").update(auto_labelled=True)
    page = login(owner)
    open_project(page, server, project)
    names = page.locator("#grid .tile .tile-name")
    expect(names).to_have_text([f"img-0{i}.png" for i in range(5)])

    page.get_by_label("Order").select_option("uncertain")
    # Most uncertain first, ties by name; img-04 was never predicted, so it is not in this order.
    expect(names).to_have_text(["img-01.png", "img-03.png", "img-02.png", "img-00.png"])
    expect(page.locator("#grid .tile .tile-uncertainty").first).to_have_text("0.90")
    assert page.url.endswith("?order=uncertain")
    link = page.locator("#grid .tile a").first
    expect(link).to_have_attribute("href", re.compile(r"\?image=\d+&order=uncertain$"))

    page.reload()  # the order lives in the address
    expect(page.get_by_label("Order")).to_have_value("uncertain")
    expect(names).to_have_text(["img-01.png", "img-03.png", "img-02.png", "img-00.png"])

    page.get_by_label("Order").select_option("key")
    page.locator("#filters").get_by_role("button", name=re.compile("^Auto-labelled")).click()
    expect(names).to_have_text(["img-04.png"])
    expect(page.locator("#grid .tile .badge-auto")).to_have_text(["auto"])
    expect(page.locator("#filters [data-assist-count=auto_labelled]")).to_have_text("1")
    assert page.url.endswith("?auto_labelled=true")
    expect(page.locator("#grid .tile a").first).to_have_attribute("href", re.compile(r"&auto_labelled=true$"))
    assert not page.errors


def test_the_review_queue_filters_auto_labelled_images(login, server):
    owner, annotator = UserFactory(), UserFactory()
    project = make_project(owner, images=3)
    Membership.objects.create(project=project, user=annotator, role=Role.ANNOTATOR)
    cat = project.labels.get(name="cat")
    for key, auto in (("img-00.png", False), ("img-01.png", True), ("img-02.png", True)):
        image = project.images.get(key=key)
        data = AnnotationSet([BoxData(cat.pk, 0.1, 0.1, 0.9, 0.9)], [], False)
        in_thread(save_annotations, image, data, base_version=0, user=annotator, auto_labelled=auto)
    page = login(owner)
    page.goto(server + reverse("teams:review", args=[project.pk]) + "?auto_labelled=true")
    page.wait_for_selector("#stage[data-rendered]")
    expect(page.get_by_label("Made by")).to_have_value("true")
    expect(page.locator("#rv-waiting")).to_have_text("2 labelled images waiting")
    expect(page.locator("#image-name")).to_have_text("img-01.png")
    page.get_by_label("Made by").select_option("false")
    expect(page.locator("#rv-waiting")).to_have_text("1 labelled image waiting")
    expect(page.locator("#image-name")).to_have_text("img-00.png")
    assert not page.errors


def test_the_run_page_shows_how_its_suggestions_fared(login, server):
    owner = UserFactory()
    project = make_project(owner, images=2)
    run = assist_run(project, owner)
    quiet = assist_run(project, owner)
    cat = project.labels.get(name="cat")
    image = project.images.get(key="img-00.png")
    statuses = [SuggestionStatus.ACCEPTED] * 6 + [SuggestionStatus.EDITED] * 2 + [SuggestionStatus.REJECTED] * 2
    for i, status in enumerate([*statuses, SuggestionStatus.PENDING]):
        suggest(image, run, cat, 0.5 + i / 40, status=status)
    page = login(owner)
    page.goto(f"{server}/projects/{project.pk}/runs/{run.pk}/")
    card = page.locator("#suggestion-stats")
    expect(card).to_be_visible()
    expect(card.locator("[data-stat=accepted]")).to_have_text("6")
    expect(card.locator("[data-stat=edited]")).to_have_text("2")
    expect(card.locator("[data-stat=rejected]")).to_have_text("2")
    expect(card.locator("[data-stat=pending]")).to_have_text("1")
    expect(card.locator("[data-stat=added]")).to_have_text("0")
    expect(page.locator("#suggestion-reading")).to_have_text(
        "60 % of the 10 suggestions decided were accepted unchanged, 20 % after an edit; 20 % rejected."
    )

    page.goto(f"{server}/projects/{project.pk}/runs/{quiet.pk}/")  # a run that suggested nothing
    expect(page.locator("#run-status")).to_have_text("Succeeded")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#suggestion-stats")).to_be_hidden()
    assert not page.errors
