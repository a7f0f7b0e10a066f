"""Backbone weights: pre-flight refuses a run that could only fail for want of them, before it is
queued; `manage.py fetchweights` puts them where workers look. Never touches the internet: the
download is served by a local HTTP server from the shared test data."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import client_for
from tests.training.conftest import classification_data
from training import weights
from training.models import Run
from training.preflight import run_preflight

pytestmark = pytest.mark.django_db


def codes(problems) -> list[str]:
    return [p.code for p in problems]


@pytest.fixture
def no_weights(settings, tmp_path) -> Path:
    """Nothing configured, an empty Keras cache (KERAS_HOME is the test's own), no download."""
    settings.ANNOTATOR_BACKBONE_WEIGHTS = "imagenet"
    settings.ANNOTATOR_BACKBONE_DOWNLOAD = False
    return weights.keras_cache_dir()


def test_configured_file_passes_and_names_its_width(classification_project, personas, backbone_weights):
    classification_data(classification_project, personas.owner)
    check = run_preflight(classification_project, "classification", alpha=0.5)
    assert check.ok and not [p for p in check.warnings if p.code.startswith("weights")]
    assert weights.for_worker(0.5) == str(backbone_weights)
    # The file's Keras name says 0.5: a run of another width does not get it.
    assert weights.find(1.0) is None


def test_no_weights_refuses_the_run_before_anything_is_queued(classification_project, personas, no_weights):
    classification_data(classification_project, personas.owner)
    check = run_preflight(classification_project, "classification", alpha=0.5)
    assert codes(check.errors) == ["weights_unavailable"]
    assert "manage.py fetchweights" in check.errors[0].message
    response = client_for(personas.owner).post(
        f"/api/v1/projects/{classification_project.pk}/runs/", {"kind": "classification"}, format="json"
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "preflight_failed"
    assert codes_of(response.json()["error"]["problems"]) == ["weights_unavailable"]
    assert not Run.objects.exists()
    assert weights.for_worker(0.5) is None


def codes_of(problems: list[dict]) -> list[str]:
    return [p["code"] for p in problems]


def test_scratch_or_download_let_the_run_go_with_a_warning(
    classification_project, personas, no_weights, settings, keras_host
):
    classification_data(classification_project, personas.owner)
    scratch = run_preflight(classification_project, "classification", alpha=0.5, allow_scratch=True)
    assert scratch.ok and "weights_scratch" in codes(scratch.warnings)
    settings.ANNOTATOR_BACKBONE_DOWNLOAD = True
    download = run_preflight(classification_project, "classification", alpha=0.5)
    assert download.ok and "weights_download" in codes(download.warnings)
    assert weights.for_worker(0.5) == "imagenet"
    # The page's check asks with the form's width and scratch setting.
    url = f"/api/v1/projects/{classification_project.pk}/runs/preflight/?kind=classification&alpha=0.75"
    answer = client_for(personas.owner).get(url).json()
    assert answer["ok"] and "alpha=0.75" in answer["warnings"][0]["message"]
    bad = client_for(personas.owner).get(url.replace("0.75", "0.6"))
    assert bad.status_code == 400


def test_fetchweights_copies_a_checked_file_where_workers_look(
    classification_project, personas, no_weights, backbone_weights, capsys
):
    if not backbone_weights.is_file():
        pytest.skip(f"needs {backbone_weights}")
    classification_data(classification_project, personas.owner)
    call_command("fetchweights", "--from", str(backbone_weights))
    stored = no_weights / backbone_weights.name
    assert capsys.readouterr().out.strip() == str(stored) and stored.read_bytes() == backbone_weights.read_bytes()
    assert run_preflight(classification_project, "classification", alpha=0.5).ok
    assert weights.for_worker(0.5) == str(stored)
    call_command("fetchweights")
    assert capsys.readouterr().out.startswith("Already there")
    assert [p.name for p in no_weights.iterdir()] == [backbone_weights.name]  # no partial files left


def test_fetchweights_refuses_files_that_are_not_these_weights(no_weights, backbone_weights, tmp_path):
    if not backbone_weights.is_file():
        pytest.skip(f"needs {backbone_weights}")
    with pytest.raises(CommandError, match=r"another width: its last block has 160 channels, alpha 1\.0 needs 320"):
        call_command("fetchweights", "--alpha", "1.0", "--from", str(backbone_weights))
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(CommandError, match="not an HDF5 file"):
        call_command("fetchweights", "--from", str(junk))
    with pytest.raises(CommandError, match="No file"):
        call_command("fetchweights", "--from", str(tmp_path / "missing.h5"))
    assert not no_weights.exists() or not any(no_weights.iterdir())


@pytest.fixture
def mirror(backbone_weights):
    """An HTTP mirror of Keras' weights folder on localhost."""
    if not backbone_weights.is_file():
        pytest.skip(f"needs {backbone_weights}")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(backbone_weights.parent))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def test_fetchweights_downloads_from_a_mirror_and_says_what_to_do_offline(no_weights, mirror, backbone_weights):
    call_command("fetchweights", "--url", mirror)
    assert (no_weights / backbone_weights.name).read_bytes() == backbone_weights.read_bytes()
    with pytest.raises(CommandError, match="Without internet, copy Keras' file"):
        call_command("fetchweights", "--alpha", "0.75", "--url", mirror)


def test_a_weights_folder_setting_is_where_files_go_and_are_found(settings, tmp_path, backbone_weights):
    if not backbone_weights.is_file():
        pytest.skip(f"needs {backbone_weights}")
    folder = tmp_path / "weights"
    folder.mkdir()
    settings.ANNOTATOR_BACKBONE_WEIGHTS = str(folder)
    assert weights.find(0.5) is None
    call_command("fetchweights", "--from", str(backbone_weights))
    assert weights.find(0.5) == folder / backbone_weights.name
