"""The run page's model endpoints: model_web/ file by file, the SavedModel's answer, and the
all-in-one zip; who may use them."""

from __future__ import annotations

import io
import json
import os

import pytest
from django.urls import reverse
from PIL import Image as PILImage

from tests.conftest import client_for
from tests.training import tiny_models

pytestmark = pytest.mark.django_db
# tensorflowjs imports TF Decision Forests, whose banner needs IPython unless switched off.
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
pytest.importorskip("tensorflowjs")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return {
        kind: tiny_models.build(kind, ["red", "blue"], tmp_path_factory.mktemp(kind))
        for kind in ("classification", "detection")
    }


def png(colour: tuple[int, int, int], size=(40, 30)) -> io.BytesIO:
    out = io.BytesIO()
    PILImage.new("RGB", size, colour).save(out, "PNG")
    out.seek(0)
    out.name = "photo.png"
    return out


@pytest.mark.parametrize(("role", "expected"), [("owner", 200), ("viewer", 200), ("outsider", 404), (None, 401)])
def test_web_model_files_are_served_to_members(personas, folders, role, expected):
    run = tiny_models.succeeded_run(personas.project, personas.owner, "classification", folders["classification"])
    client = client_for(personas.of(role) if role else None)
    url = reverse("api:run-web-model", args=[personas.project.pk, run.pk, "model.json"])
    response = client.get(url)
    assert response.status_code == expected
    if expected == 200:
        model = json.loads(response.content)
        assert response["Content-Type"] == "application/json"
        assert set(model["signature"]["outputs"]) == {"probabilities"}
        shard = model["weightsManifest"][0]["paths"][0]
        assert client.get(url.replace("model.json", shard)).status_code == 200
        helper = client.get(url.replace("model.json", "annotator.js"))
        assert helper["Content-Type"].startswith("text/javascript") and b"export async function load" in helper.content
        missing = client.get(url.replace("model.json", "nothing.bin"))
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "file_missing"


def test_the_server_answers_like_the_helper(personas, folders):
    project = personas.project
    classifier = tiny_models.succeeded_run(project, personas.owner, "classification", folders["classification"])
    detector = tiny_models.succeeded_run(project, personas.owner, "detection", folders["detection"])
    client = client_for(personas.viewer)

    answer = client.post(reverse("api:run-predict", args=[project.pk, classifier.pk]), {"image": png((250, 0, 0))})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["kind"] == "classification" and (body["width"], body["height"]) == (40, 30)
    assert [c["label"] for c in body["classes"]] == ["red", "blue"] and body["classes"][0]["probability"] > 0.9
    blue = client.post(reverse("api:run-predict", args=[project.pk, classifier.pk]), {"image": png((0, 0, 250))})
    assert blue.json()["classes"][0]["label"] == "blue"

    boxes = client.post(reverse("api:run-predict", args=[project.pk, detector.pk]), {"image": png((9, 9, 9))}).json()
    [found] = boxes["detections"]
    assert found["label"] == "red" and found["score"] == pytest.approx(0.9)
    assert found["box"] == pytest.approx({"x": 4.0, "y": 7.5, "width": 16.0, "height": 15.0})
    assert boxes["milliseconds"] >= 0


def test_predict_reads_a_project_image_by_id(personas, folders):
    from tests.training.conftest import upload

    run = tiny_models.succeeded_run(personas.project, personas.owner, "classification", folders["classification"])
    [image] = upload(personas.project, personas.owner, [("b.png", (10, 10, 240))])
    url = reverse("api:run-predict", args=[personas.project.pk, run.pk])
    answer = client_for(personas.viewer).post(url, {"image_id": image.pk}).json()
    assert answer["classes"][0]["label"] == "blue" and (answer["width"], answer["height"]) == (64, 48)
    other = client_for(personas.outsider).post(url, {"image_id": image.pk})
    assert other.status_code == 404
    both = client_for(personas.owner).post(url, {"image_id": image.pk, "image": png((1, 2, 3))})
    assert both.status_code == 400
    elsewhere = client_for(personas.owner).post(url, {"image_id": image.pk + 1000})
    assert elsewhere.status_code == 404


def test_predict_refuses_what_is_not_an_image(personas, folders):
    run = tiny_models.succeeded_run(personas.project, personas.owner, "classification", folders["classification"])
    url = reverse("api:run-predict", args=[personas.project.pk, run.pk])
    not_image = io.BytesIO(b"hello")
    not_image.name = "a.png"
    response = client_for(personas.owner).post(url, {"image": not_image})
    assert response.status_code == 400 and response.json()["error"]["code"] == "not_an_image"
    assert client_for(personas.owner).post(url, {}).status_code == 400


def test_a_run_without_models_has_nothing_to_try(personas):
    from training.models import Run, RunStatus

    run = Run.objects.create(project=personas.project, kind="classification", status=RunStatus.FAILED)
    url = reverse("api:run-web-model", args=[personas.project.pk, run.pk, "model.json"])
    assert client_for(personas.owner).get(url).json()["error"]["code"] == "model_missing"
    page = client_for(personas.owner).get(reverse("training:run-detail", args=[personas.project.pk, run.pk]))
    assert b'id="try-it"' not in page.content


def test_the_run_page_offers_try_it_and_every_zip(personas, folders):
    from django.test import Client

    run = tiny_models.succeeded_run(personas.project, personas.owner, "classification", folders["classification"])
    client = Client()
    client.force_login(personas.viewer)
    page = client.get(reverse("training:run-detail", args=[personas.project.pk, run.pk])).content.decode()
    assert 'id="try-it"' in page and "dist/tryit.js" in page and "tfjs-backend-wasm.wasm" in page
    folder = reverse("api:run-web-model", args=[personas.project.pk, run.pk, "model.json"]).removesuffix("model.json")
    assert f'data-model-url="{folder}"' in page


def test_every_zip_explains_itself_and_models_zip_holds_all_four(personas, folders, tmp_path):
    import shutil

    from training.artifacts import upload_outcome
    from training.models import Run

    exports = dict(folders["classification"])
    for name in ("model_android", "model_ios"):
        exports[name] = shutil.copytree(exports["model"], tmp_path / name)
    for name, folder in exports.items():
        (folder / "README.md").write_text(f"# {name}/")
    run = Run.objects.create(project=personas.project, kind="classification", created_by=personas.owner)
    from annotator.storage import project_bucket

    bucket = project_bucket(personas.project)
    artifacts = {a.name: a for a in upload_outcome(run, bucket, exports, [], "{}")}
    for name in exports:
        assert f"{name}/README.md" in tiny_models.zip_names(bucket.read(artifacts[name].key))
    everything = tiny_models.zip_names(bucket.read(artifacts["models"].key))
    assert "README.md" in everything
    assert {f"{name}/{file}" for name in exports for file in ("README.md", "labels.json", "metadata.json")} <= set(
        everything
    )
