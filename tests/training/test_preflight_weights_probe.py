"""Offline first run: with downloads allowed (the default) and no weights on the machine, the
pre-flight check asks Keras' weights host once (HEAD, 3 s, answer cached 10 minutes) and refuses
a run whose download could only fail, naming the fix. Never touches the internet: the host is a
local server started here, or a closed local port."""

from __future__ import annotations

import socket
import time

import pytest

from tests.conftest import client_for
from tests.keras_host import KerasHost
from tests.training.conftest import classification_data
from training import weights
from training.models import Run
from training.preflight import run_preflight

pytestmark = pytest.mark.django_db


def codes(problems) -> list[str]:
    return [p.code for p in problems]


def closed_port_url() -> str:
    with socket.socket() as sock:  # a port the kernel just handed out and nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/tensorflow/keras-applications/mobilenet_v2/"


@pytest.fixture
def offline_first_run(settings, classification_project, personas):
    """No weights anywhere on this machine, downloads allowed: the default on a fresh laptop."""
    settings.ANNOTATOR_BACKBONE_WEIGHTS = "imagenet"
    settings.ANNOTATOR_BACKBONE_DOWNLOAD = True
    classification_data(classification_project, personas.owner)
    return classification_project


def test_an_unreachable_host_refuses_the_run_naming_the_fix(offline_first_run, personas, monkeypatch):
    monkeypatch.setattr(weights, "PROBE_URL", closed_port_url())
    check = run_preflight(offline_first_run, "classification", alpha=0.5)
    assert codes(check.errors) == ["weights_unavailable"]
    message = check.errors[0].message
    assert "cannot be reached from this machine" in message
    assert "manage.py fetchweights --alpha 0.5 --from FILE" in message and "ANNOTATOR_BACKBONE_WEIGHTS" in message
    assert "from scratch" in message
    response = client_for(personas.owner).post(
        f"/api/v1/projects/{offline_first_run.pk}/runs/", {"kind": "classification"}, format="json"
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "preflight_failed"
    assert [p["code"] for p in response.json()["error"]["problems"]] == ["weights_unavailable"]
    assert not Run.objects.exists()
    # Allowed to train from scratch, the run goes ahead with the warning (the worker falls back).
    scratch = run_preflight(offline_first_run, "classification", alpha=0.5, allow_scratch=True)
    assert scratch.ok and codes(scratch.warnings) == ["weights_scratch"]
    assert "cannot be reached" in scratch.warnings[0].message


def test_a_reachable_host_lets_the_run_go_with_the_download_warning(offline_first_run, keras_host):
    check = run_preflight(offline_first_run, "classification", alpha=0.5)
    assert check.ok and codes(check.warnings) == ["weights_download"]
    assert keras_host.requests == 1
    assert weights.for_worker(0.5) == "imagenet"


def test_the_answer_is_cached_for_ten_minutes_one_probe_per_file(offline_first_run, keras_host):
    for _ in range(3):
        assert run_preflight(offline_first_run, "classification", alpha=0.5).ok
    assert keras_host.requests == 1
    run_preflight(offline_first_run, "classification", alpha=0.75)  # another width: another file
    assert keras_host.requests == 2
    keras_host.close()  # the host goes away: the cached answer stands until it expires
    assert run_preflight(offline_first_run, "classification", alpha=0.5).ok
    assert weights.PROBE_CACHE_SECONDS == 600 and weights.PROBE_TIMEOUT_SECONDS == 3


def test_a_refusal_is_cached_too_and_asked_again_once_it_expires(offline_first_run, monkeypatch):
    host = KerasHost(set())  # answers, but has no file yet
    monkeypatch.setattr(weights, "PROBE_URL", host.url)
    monkeypatch.setattr(weights, "PROBE_CACHE_SECONDS", 1)
    try:
        assert not run_preflight(offline_first_run, "classification", alpha=0.5).ok
        host.files.add(weights.file_name(0.5))
        assert not run_preflight(offline_first_run, "classification", alpha=0.5).ok  # the cached answer
        assert host.requests == 1
        time.sleep(1.2)
        assert run_preflight(offline_first_run, "classification", alpha=0.5).ok
        assert host.requests == 2
    finally:
        host.close()


def test_a_host_without_the_file_or_too_slow_is_a_refusal(offline_first_run, monkeypatch):
    host = KerasHost(set())
    monkeypatch.setattr(weights, "PROBE_URL", host.url)
    try:
        check = run_preflight(offline_first_run, "classification", alpha=0.5)
        assert codes(check.errors) == ["weights_unavailable"] and "answered 404" in check.errors[0].message
    finally:
        host.close()
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setattr(weights, "PROBE_URL", f"http://127.0.0.1:{silent.getsockname()[1]}/")
        monkeypatch.setattr(weights, "PROBE_TIMEOUT_SECONDS", 0.3)
        started = time.monotonic()
        problem = weights.download_problem(0.5)
        assert problem and time.monotonic() - started < 2
        assert "timed out" in problem or "did not answer" in problem


def test_downloads_off_refuse_without_asking_anyone(offline_first_run, settings, keras_host):
    settings.ANNOTATOR_BACKBONE_DOWNLOAD = False
    check = run_preflight(offline_first_run, "classification", alpha=0.5)
    assert codes(check.errors) == ["weights_unavailable"] and keras_host.requests == 0
    assert "manage.py fetchweights" in check.errors[0].message
    assert weights.for_worker(0.5) is None


def test_local_weights_need_no_probe(classification_project, personas, settings, keras_host, backbone_weights):
    settings.ANNOTATOR_BACKBONE_DOWNLOAD = True
    classification_data(classification_project, personas.owner)
    check = run_preflight(classification_project, "classification", alpha=0.5)
    assert check.ok and not [p for p in check.warnings if p.code.startswith("weights")]
    assert keras_host.requests == 0
