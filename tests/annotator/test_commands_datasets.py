"""Operator commands: createproject, importdata (the full playing-card set), exportdata."""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from annotator.models import Box, Project
from tests.annotator.test_datasets_import import assert_boxes_match_xml
from tests.conftest import SHARED_DATA
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CARDS = SHARED_DATA / "playing-cards"


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_createproject_prints_the_id_of_a_project_owned_by_the_given_account():
    owner = UserFactory(email="owner@example.com")

    project_id = int(_run("createproject", "Cards", "--type", "classification", "--owner", "owner@example.com"))

    project = Project.objects.get(pk=project_id)
    assert (project.name, project.type, project.owner) == ("Cards", "classification", owner)


def test_createproject_without_a_known_owner_fails_clearly():
    with pytest.raises(CommandError, match="No account"):
        _run("createproject", "Cards", "--owner", "nobody@example.com")


def test_playing_cards_import_exactly_with_xml_next_to_each_image():
    UserFactory(email="owner@example.com")
    project_id = _run("createproject", "Cards", "--owner", "owner@example.com").strip()

    summary = json.loads(_run("importdata", project_id, str(CARDS), "--json"))

    assert (summary["ok"], summary["format"], summary["images"], summary["boxes"]) == (True, "voc", 200, 376)
    assert (summary["labels"], summary["errors"]) == (6, [])
    per_class = Counter(Box.objects.filter(image__project_id=project_id).values_list("label__name", flat=True))
    assert per_class == {"king": 73, "jack": 66, "nine": 64, "ace": 62, "queen": 57, "ten": 54}
    xml_files = sorted(CARDS.glob("*/*.xml"))
    assert_boxes_match_xml(
        Project.objects.get(pk=project_id),
        xml_files,
        lambda path, root: f"{path.parent.name}/{root.findtext('filename')}",
    )


def test_importdata_reports_errors_as_json_and_exits_non_zero(tmp_path, personas):
    (tmp_path / "a.xml").write_text("<annotation><filename>a.jpg</filename><object>")
    out = io.StringIO()

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("importdata", str(personas.project.pk), str(tmp_path), "--json", stdout=out, stderr=io.StringIO())

    body = json.loads(out.getvalue())
    assert body["ok"] is False and body["error"]["errors"][0]["file"] == "a.xml"


def test_exportdata_writes_a_zip_that_importdata_reads_back(tmp_path, personas):
    _run("importdata", str(personas.project.pk), str(CARDS / "test"), "--format", "voc")
    out = tmp_path / "cards.zip"

    summary = json.loads(
        _run("exportdata", str(personas.project.pk), "--format", "tfrecord", "--out", str(out), "--split", "0.75")
    )

    assert summary["split"]["validation_ratio"] == 0.25
    with zipfile.ZipFile(out) as archive:
        assert {"train.record", "val.record", "label_map.pbtxt", "split.json"} <= set(archive.namelist())
    yolo = tmp_path / "cards-yolo.zip"
    _run("exportdata", str(personas.project.pk), "--format", "yolo", "--out", str(yolo))
    other = Project.objects.create(owner=personas.owner, name="again")
    assert json.loads(_run("importdata", str(other.pk), str(yolo), "--json"))["boxes"] == summary["boxes"]


def test_exportdata_of_an_unknown_project_fails_clearly(tmp_path):
    with pytest.raises(CommandError, match="No project 999"):
        _run("exportdata", "999", "--format", "coco", "--out", str(tmp_path / "x.zip"))
