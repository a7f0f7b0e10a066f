"""The CLI's refusals: each says what is wrong and exits non-zero."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from tests.training.conftest import classification_data
from training.models import Run, RunStatus

pytestmark = pytest.mark.django_db


def test_train_refuses_unready_data_with_the_problems(classification_project, personas):
    classification_data(classification_project, personas.owner, per_class=2)
    with pytest.raises(CommandError, match="red has 2 labelled images; label at least 5"):
        call_command("train", str(classification_project.pk))
    assert not Run.objects.exists()


def test_train_refuses_bad_settings_and_unknown_projects(classification_project, personas):
    classification_data(classification_project, personas.owner, per_class=5)
    with pytest.raises(CommandError, match="input_size"):
        call_command("train", str(classification_project.pk), "--set", "input_size=100")
    with pytest.raises(CommandError, match="No project 999999"):
        call_command("train", "999999")


def test_train_without_wait_prints_the_queued_run(classification_project, personas, capsys):
    classification_data(classification_project, personas.owner, per_class=5)
    call_command("train", str(classification_project.pk), "--epochs", "2", "--json", "--user", personas.owner.email)
    summary = json.loads(capsys.readouterr().out)
    run = Run.objects.get(pk=summary["id"])
    assert summary["status"] == "queued" and run.hyperparameters["epochs"] == 2 and run.created_by == personas.owner


def test_downloadmodel_needs_a_succeeded_run(classification_project, personas, tmp_path):
    classification_data(classification_project, personas.owner, per_class=5)
    call_command("train", str(classification_project.pk))
    run = Run.objects.get()
    with pytest.raises(CommandError, match="only succeeded runs have models"):
        call_command("downloadmodel", str(run.pk), "--out", str(tmp_path))
    Run.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED)
    with pytest.raises(CommandError, match="0 of 4 model folders"):
        call_command("downloadmodel", str(run.pk), "--out", str(tmp_path))
