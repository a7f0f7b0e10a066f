"""Shared fixtures: personas, API clients, image bytes, storage, and a real S3 endpoint."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image as PILImage
from rest_framework.test import APIClient

REPO_ROOT = Path(__file__).resolve().parent.parent


def _shared_data() -> Path:
    """The shared datasets and weights: ``ANNOTATOR_SHARED_DATA``, else ``../shared/data`` beside
    the checkout, else the workplace's ``/work/shared/data`` (a clone made elsewhere still tests)."""
    if os.environ.get("ANNOTATOR_SHARED_DATA"):
        return Path(os.environ["ANNOTATOR_SHARED_DATA"])
    beside = REPO_ROOT.parent / "shared" / "data"
    return beside if beside.is_dir() else Path("/work/shared/data")


SHARED_DATA = _shared_data()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory) -> None:
    """On SQLite, test against a file like production does (WAL, busy timeout), not shared-cache memory.

    A file is what other processes (a Celery worker, a browser-facing server) can open too,
    and its locking is the one real deployments get. The name is per process so parallel runs
    do not collide.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        name = tmp_path_factory.getbasetemp() / f"test-{os.getpid()}.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(name)


@pytest.fixture(scope="session", autouse=True)
def private_queue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Jobs queued by tests go to a filesystem queue of their own, never a developer's broker."""
    from config.celery import app, ensure_broker_folders

    folder = tmp_path_factory.mktemp("celery")
    app.conf.broker_url = "filesystem://"
    app.conf.broker_transport_options = {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "polling_interval": 0.2,
    }
    ensure_broker_folders()
    return folder


def make_image_bytes(
    width: int = 64, height: int = 48, fmt: str = "JPEG", color: tuple = (200, 30, 30), **save
) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), color).save(out, fmt, **save)
    return out.getvalue()


@pytest.fixture(autouse=True)
def local_buckets(settings, tmp_path: Path) -> Path:
    """Every test gets its own empty bucket directory (and fast password hashing)."""
    from django.core.cache import cache

    cache.clear()  # rate-limit counters and the like must not leak between tests (Redis persists them)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ANNOTATOR_STORAGE = "local"
    settings.ANNOTATOR_LOCAL_BUCKETS_DIR = tmp_path / "buckets"
    return settings.ANNOTATOR_LOCAL_BUCKETS_DIR


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Iterator[None]:
    """Every test gets its own channel layer. The Redis layer keeps receive state (a lock, a count
    of receivers) bound to the event loop that created it, and each test's async_to_sync runs a
    loop of its own: a consumer an earlier test's loop left receiving broke a later test's with
    "Lock ... is bound to a different event loop" (seen once in the PostgreSQL + Redis pass)."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(scope="session")
def online_keras_host() -> Iterator[str]:
    """A local server that has every weights file Keras publishes: what pre-flight's download probe
    asks in tests, so a test without weights sees an online machine without reaching the internet."""
    from tests.keras_host import KerasHost

    host = KerasHost()
    yield host.url
    host.close()


@pytest.fixture(autouse=True)
def backbone_weights(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, online_keras_host: str) -> Path:
    """Pre-flight and workers find the backbone weights in the shared test data, never a developer's
    Keras cache or the network (training/weights.py): pre-flight's probe of Keras' host goes to a
    local server (tests/training/test_preflight_weights_probe.py tries offline ones)."""
    from training import weights as backbone

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(backbone, "PROBE_URL", online_keras_host)
    weights = SHARED_DATA / "keras-weights" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5"
    settings.ANNOTATOR_BACKBONE_WEIGHTS = str(weights)
    return weights


@pytest.fixture
def personas(db):
    """A project with an owner, an annotator and a viewer, plus an outsider with a project of their own."""
    from tests.factories import make_persona_project

    return make_persona_project()


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def owner_client(personas) -> APIClient:
    return client_for(personas.owner)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's standalone S3 server in its own process, reached over HTTP like any S3 endpoint."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def s3_storage(settings, s3_endpoint: str) -> str:
    """Point the instance's default storage at a fresh bucket on the S3 endpoint."""
    import uuid

    import boto3

    name = f"test-{uuid.uuid4().hex[:12]}"
    settings.ANNOTATOR_STORAGE = "s3"
    settings.ANNOTATOR_BUCKET = name
    settings.ANNOTATOR_S3 = {
        "endpoint_url": s3_endpoint,
        "region": "us-east-1",
        "access_key_id": "testing",
        "secret_access_key": "testing",
        "addressing_style": "path",
    }
    boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ).create_bucket(Bucket=name)  # fmt: skip
    return name
