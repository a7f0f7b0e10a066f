"""/healthz and /readyz (config/health.py): answers for probes, bodies without secrets."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from config import health


@pytest.fixture
def probe(settings) -> Client:
    # As in production: a strict host list and the HTTPS redirect, which probes must get past.
    settings.ALLOWED_HOSTS = ["annotator.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    return Client()


def test_healthz_answers_any_host_over_plain_http_and_touches_nothing(probe) -> None:
    # No django_db mark: a query would be an error.
    response = probe.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert probe.post("/healthz", HTTP_HOST="10.1.2.3:8000").status_code == 405
    # Everything else still gets the host check and the redirect.
    assert probe.get("/accounts/login/", HTTP_HOST="10.1.2.3:8000").status_code == 400
    assert probe.get("/accounts/login/", HTTP_HOST="annotator.example.com").status_code == 301


@pytest.mark.django_db(transaction=True)
def test_readyz_reports_each_dependency_with_its_latency(probe) -> None:
    response = probe.get("/readyz/", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "channel_layer", "broker", "bucket"}
    for check in body["checks"].values():
        assert check["status"] == "ok" and check["latency_ms"] >= 0


@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_naming_only_the_failing_check_and_its_error_class(probe, settings, monkeypatch) -> None:
    secret_host = "db-primary.internal.example:5432 password=hunter2"

    def broken() -> None:
        raise ConnectionRefusedError(f"could not reach {secret_host}")

    monkeypatch.setitem(health.CHECKS, "broker", broken)
    response = probe.get("/readyz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["status"] == "error"
    assert body["checks"]["broker"]["error"] == "ConnectionRefusedError"
    assert body["checks"]["database"]["status"] == "ok"
    text = json.dumps(body)
    assert "hunter2" not in text and "internal.example" not in text and settings.SECRET_KEY not in text


@pytest.mark.django_db(transaction=True)
def test_a_check_that_hangs_counts_as_failed_within_the_timeout(probe, settings, monkeypatch) -> None:
    import threading
    import time

    settings.ANNOTATOR_READY_TIMEOUT = 1
    release = threading.Event()
    monkeypatch.setitem(health.CHECKS, "bucket", lambda: release.wait(10))
    started = time.monotonic()
    try:
        response = probe.get("/readyz", HTTP_HOST="10.1.2.3:8000")
    finally:
        release.set()
    assert time.monotonic() - started < 5
    assert response.status_code == 503 and response.json()["checks"]["bucket"]["error"] == "Timeout"


def test_s3_bucket_check_fails_fast_against_an_unreachable_endpoint(settings) -> None:
    settings.ANNOTATOR_STORAGE = "s3"
    settings.ANNOTATOR_READY_TIMEOUT = 1
    settings.ANNOTATOR_S3 = {"endpoint_url": "http://127.0.0.1:9", "access_key_id": "x", "secret_access_key": "y"}
    with pytest.raises(Exception):  # noqa: B017 - any transport error: what matters is that it ends
        health.check_bucket()
