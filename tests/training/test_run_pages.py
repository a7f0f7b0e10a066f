"""The training pages as the server renders them: the Train form from the API's own serializer,
and the run page's figure tables (what the charts show, readable without them)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from training.hyperparameters import HyperParametersSerializer
from training.models import Run, RunStatus

pytestmark = pytest.mark.django_db


def page(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_form_offers_every_setting_with_its_one_line_help(personas):
    html = page(personas.owner, reverse("training:run-list", args=[personas.project.pk]))
    for name, field in HyperParametersSerializer().fields.items():
        assert f'id="setting-{name}"' in html
        assert field.help_text and f'<small class="help" id="help-{name}">{escape(field.help_text)}</small>' in html
    # A detection project: the classifier's settings are there for the kind switch, but hidden;
    # the detector's own are shown.
    assert '<div class="setting" data-setting="fine_tune_epochs" data-only="classification" hidden>' in html
    assert '<div class="setting choice" data-setting="box_classifier" data-only="detection">' in html
    assert 'name="box_classifier" id="setting-box_classifier" aria-describedby="help-box_classifier" checked' in html
    assert 'id="setting-epochs" data-numeric="int" step="1" min="1" max="1000" value="80"' in html
    assert 'name="alpha" id="setting-alpha" data-numeric="float"' in html and '<option value="0.5" selected>' in html


def test_the_list_never_shows_a_step_past_its_total(personas):
    Run.objects.create(project=personas.project, kind="detection", status=RunStatus.RUNNING,
                       progress={"step": 1281, "total_steps": 1241})  # fmt: skip
    html = page(personas.viewer, reverse("training:run-list", args=[personas.project.pk]))
    assert "1241 / 1241" in html and "1281" not in html


def test_the_run_page_has_the_figures_behind_its_charts(personas):
    metrics = {
        "labels": ["ace", "king"], "map": 0.5, "ap_per_class": {"ace": 0.75, "king": None},
        "pr_curves": {"ace": {"precision": [1.0, 0.5], "recall": [0.0, 1.0]}},
        "best": {"step": 20, "epoch": 2, "value": 0.5, "metric": "map50"}, "stopped_early": True,
    }  # fmt: skip
    run = Run.objects.create(project=personas.project, kind="detection", status=RunStatus.SUCCEEDED, metrics=metrics,
                             eval_curve=[[10, 0.25], [20, 0.5]])  # fmt: skip
    html = page(personas.viewer, reverse("training:run-detail", args=[personas.project.pk, run.pk]))
    assert 'data-metric-name="mAP@0.5"' in html
    assert '<tr><th scope="row">ace</th><td>0.750</td></tr><tr><th scope="row">king</th><td>—</td></tr>' in html
    assert "<tr><td>10</td><td>0.2500</td></tr><tr><td>20</td><td>0.5000</td></tr>" in html
    assert 'id="pr-chart" role="img" aria-label="Precision-recall curves of 1 classes' in html
    assert "Best mAP@0.5 0.500 at step 20 (epoch 2); stopped early" in html
    assert 'table class="matrix' not in html  # detectors have no confusion matrix


@pytest.mark.parametrize("key", ["map50", "map"])  # "map": what detector runs stored before the key was unified
def test_a_detectors_map_is_shown_under_one_name_old_runs_included(personas, key):
    run = Run.objects.create(project=personas.project, kind="detection", status=RunStatus.SUCCEEDED,
                             metrics={"labels": ["ace"], key: 0.625, "ap_per_class": {"ace": 0.625}})  # fmt: skip
    assert (run.metric_name, run.score) == ("map50", 0.625)
    project = personas.project.pk
    detail = page(personas.viewer, reverse("training:run-detail", args=[project, run.pk]))
    assert '<p class="figure">mAP@0.5 <strong>0.625</strong></p>' in detail
    assert "mAP@0.5 0.625" in page(personas.viewer, reverse("training:run-list", args=[project]))
    compare = page(personas.viewer, reverse("training:run-compare", args=[project]) + f"?run={run.pk}")
    assert "<strong>0.625</strong>" in compare
    client = Client()
    client.force_login(personas.viewer)
    body = client.get(reverse("api:run-detail", args=[project, run.pk])).json()
    assert body["metrics"]["map50"] == 0.625
